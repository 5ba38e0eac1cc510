package io.tsmigrate.dualwrite;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A journal never skips an entry silently: damage in the middle stops a reader; only a torn tail counts as never written. */
class JournalTest {

    @TempDir
    Path dir;

    private Path journalOf(int entries) throws IOException {
        try (Journal j = Journal.open(dir, "w", "target")) {
            for (int i = 1; i <= entries; i++) {
                j.append(List.of(Write.sql("INSERT INTO t VALUES (" + i + ")")));
            }
            return j.file();
        }
    }

    private static void flipByte(Path file, long offset) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) offset] ^= 0x5A;
        Files.write(file, bytes);
    }

    @Test
    void aDamagedMiddleRecordStopsTheReaderAndIsNamedWithItsOffsetAndEntry() throws IOException {
        Path file = journalOf(3);
        long second = Journal.scan(file).entries().get(1).offset();
        flipByte(file, second + 30);

        Journal.Contents contents = Journal.scan(file);
        assertThat(contents.entries()).extracting(Journal.Entry::seq).containsExactly(1L, 3L);
        assertThat(contents.damages()).hasSize(1);
        Journal.Damage damage = contents.damages().get(0);
        assertThat(damage.offset()).isEqualTo(second);
        assertThat(damage.seq()).isEqualTo(2);
        assertThat(contents.inOrder()).extracting(Journal.Item::offset)
                .containsExactly(contents.entries().get(0).offset(), second, contents.entries().get(1).offset());
        assertThatThrownBy(() -> Journal.read(file)).isInstanceOf(Journal.DamagedException.class)
                .hasMessage("journal " + file + " is damaged at byte " + second + " (entry 2, " + damage.length()
                        + " bytes: its checksum does not match)");
    }

    @Test
    void aDamagedRecordMarkerIsDamageToo() throws IOException {
        Path file = journalOf(3);
        long second = Journal.scan(file).entries().get(1).offset();
        flipByte(file, second);
        assertThat(Journal.scan(file).damages()).singleElement().satisfies(d -> {
            assertThat(d.offset()).isEqualTo(second);
            assertThat(d.reason()).isEqualTo("no record starts there");
        });
        assertThat(Journal.scan(file).entries()).extracting(Journal.Entry::seq).containsExactly(1L, 3L);
    }

    @Test
    void aTornTailIsNeverWrittenAndTheNextAppendTruncatesItFirst() throws IOException {
        Path file = journalOf(3);
        long third = Journal.scan(file).entries().get(2).offset();
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 5)); // the crash came while the third was appended

        assertThat(Journal.read(file)).extracting(Journal.Entry::seq).containsExactly(1L, 2L);
        assertThat(Journal.scan(file).intactLength()).isEqualTo(third);
        try (Journal j = Journal.open(dir, "w", "target")) {
            assertThat(j.append(List.of(Write.sql("INSERT INTO t VALUES (30)")))).isEqualTo(3);
        }
        assertThat(Journal.read(file)).extracting(Journal.Entry::seq).containsExactly(1L, 2L, 3L);
        assertThat(Journal.read(file).get(2).writes().get(0).sql()).isEqualTo("INSERT INTO t VALUES (30)");
    }

    @Test
    void zerosAtTheEndAreATornTail() throws IOException {
        Path file = journalOf(2);
        Files.write(file, new byte[100], StandardOpenOption.APPEND);
        assertThat(Journal.read(file)).extracting(Journal.Entry::seq).containsExactly(1L, 2L);
    }

    @Test
    void garbageAtTheEndIsDamageNotATornTail() throws IOException {
        Path file = journalOf(2);
        Files.write(file, "not a journal record at all".getBytes(), StandardOpenOption.APPEND);
        assertThat(Journal.scan(file).damages()).singleElement().satisfies(d -> assertThat(d.seq()).isEqualTo(3));
    }

    @Test
    void appendsAfterADamagedRecordStayReadableAndNumberOnward() throws IOException {
        Path file = journalOf(3);
        flipByte(file, Journal.scan(file).entries().get(1).offset() + 30);
        try (Journal j = Journal.open(dir, "w", "target")) {
            assertThat(j.append(List.of(Write.sql("INSERT INTO t VALUES (4)")))).isEqualTo(4);
        }
        assertThat(Journal.scan(file).entries()).extracting(Journal.Entry::seq).containsExactly(1L, 3L, 4L);
        assertThat(Journal.scan(file).damages()).hasSize(1);
    }
}
