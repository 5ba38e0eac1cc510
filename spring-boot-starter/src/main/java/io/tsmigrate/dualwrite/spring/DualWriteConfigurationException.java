package io.tsmigrate.dualwrite.spring;

/** A {@code tsmigrate.dualwrite.*} setting the starter cannot work with: the application does not start. */
public class DualWriteConfigurationException extends RuntimeException {

    private final String property;
    private final String action;

    /**
     * @param property the setting, as written in application.yml
     * @param problem  what is wrong with it, one sentence
     * @param action   what to do
     */
    public DualWriteConfigurationException(String property, String problem, String action) {
        super(property + ": " + problem);
        this.property = property;
        this.action = action;
    }

    public String property() {
        return property;
    }

    public String action() {
        return action;
    }
}
