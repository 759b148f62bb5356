package dev.panbuf.npy;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces one file atomically, the way {@link Npy#write(Path, dev.panbuf.NdArray)}
 * and {@link Npy#create} do: everything that could make the replacement
 * impossible is checked first ({@link #prepare}, which creates nothing; a
 * bind-mounted destination is the exception, found when the move fails, since
 * reading the mount table on every write would cost more than a small write); then a
 * new temporary file is created next to the destination ({@link #open}), the
 * caller writes it, and {@link #commit} forces it to the storage device, checks
 * that the destination is still what {@code prepare} saw, renames the
 * temporary over it ({@code rename(2)}: readers see the old file or the new
 * one, never a mix, and whoever has the old file open or mapped keeps it), and
 * forces the folder so that the rename itself survives a power loss.
 * {@link #close} removes the temporary file on every path that did not commit.
 *
 * <p>Temporary files are named {@code .<name>.panbuf-tmp-<pid>-<16 hex digits>}:
 * hidden, never matching {@code *.npy}, and carrying the writer's process id,
 * so that the ones a killed writer left behind can be recognised
 * ({@link #isTemporary}) and removed ({@link #deleteStale}).
 */
final class AtomicReplace implements Closeable {

    static final String MARKER = ".panbuf-tmp-";
    private static final Pattern TEMPORARY = Pattern.compile("\\.(.*)\\.panbuf-tmp-(\\d{1,19})-([0-9a-f]{16})", Pattern.DOTALL);
    /** Most UTF-8 bytes of the destination's name kept in a temporary name: names are at most 255 bytes on Linux. */
    private static final int MAX_NAME_BYTES = 200;

    /** A step of a write, reported to {@link Npy#hook} (tests inject faults there). */
    static final String STEP_DATA = "data", STEP_COMMIT = "commit";

    private final String operation;
    private final Path given;
    private final Path target;
    private final Path folder;
    private final BasicFileAttributes givenAttributes;
    private final Object targetKey;
    /** The replaced file's {@code st_mode}, owner and group (numbers: looking names up costs more than a small write); null when absent. */
    private final FileMode targetMode;
    private final boolean durable;
    private FileChannel folderChannel;
    private Path temporary;
    private FileChannel channel;
    private boolean committed;
    private boolean discarded;

    private AtomicReplace(String operation, Path given, Path target, BasicFileAttributes givenAttributes, Object targetKey,
            FileMode targetMode, boolean durable) {
        this.operation = operation;
        this.given = given;
        this.target = target;
        this.folder = target.getParent();
        this.givenAttributes = givenAttributes;
        this.targetKey = targetKey;
        this.targetMode = targetMode;
        this.durable = durable;
    }

    /**
     * Checks that {@code file} can be replaced atomically and returns the
     * replacement, having created and changed nothing (the folder is opened,
     * read-only, when {@code durable}, to force it later).
     *
     * @param operation {@code "write"} or {@code "create"}, for messages
     * @throws IOException naming the reason and what to do instead when the file cannot be replaced atomically
     */
    static AtomicReplace prepare(Path file, boolean durable, String operation) throws IOException {
        Path given = file.toAbsolutePath();
        String cannot = "cannot " + operation + " " + given;
        if (given.getFileName() == null) {
            throw new IOException(cannot + ": it is the root folder, not a file");
        }
        BasicFileAttributes at;
        try {
            at = attributesOrNull(given, LinkOption.NOFOLLOW_LINKS);
        } catch (FileSystemException e) {
            // ENOTDIR: a parent is a file; ELOOP, EACCES: say so, with the system's words
            throw new IOException(cannot + ": " + reason(e) + (e.getFile() != null && !e.getFile().equals(given.toString())
                    ? " (" + e.getFile() + ")" : "") + "; the path must name a file in a folder this process can write", e);
        }
        Path target = given;
        if (at != null && at.isSymbolicLink()) {
            // The link is kept and the file it names is replaced, as writing through the link
            // (np.save, open(..., 'wb')) changes that file and not the link.
            try {
                target = given.toRealPath();
            } catch (NoSuchFileException e) {
                throw new IOException(cannot + ": it is a symbolic link to " + Files.readSymbolicLink(given)
                        + ", which does not exist; create that file first, or remove the link", e);
            } catch (FileSystemException e) {
                throw new IOException(cannot + ": it is a symbolic link that cannot be followed (" + reason(e)
                        + "); fix or remove the link", e);
            }
        }
        BasicFileAttributes targetAt = target == given ? at : attributesOrNull(target, LinkOption.NOFOLLOW_LINKS);
        String via = target == given ? "" : " (the file its symbolic link names)";
        FileMode mode = null;
        if (targetAt != null) {
            if (targetAt.isDirectory()) {
                throw new IOException(cannot + ": " + target + via + " is a directory; name a file inside it");
            }
            if (!targetAt.isRegularFile()) {
                throw new IOException(cannot + ": " + target + via + " is not a regular file (a FIFO, socket or device),"
                        + " which cannot be replaced by another file; write with Npy.WriteMode.IN_PLACE to write into it");
            }
            mode = FileMode.of(target);
            if (!Files.isWritable(target)) {
                PosixFileAttributes posix = Files.readAttributes(target, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                throw new IOException(cannot + ": " + target + via + " is read-only for this process (permissions "
                        + PosixFilePermissions.toString(posix.permissions()) + ", owner " + posix.owner().getName()
                        + "); make it writable first (chmod u+w), as an in-place write would need too");
            }
        }
        Path folder = target.getParent();
        if (targetAt == null) {
            // (An existing file's folder exists.)
            BasicFileAttributes folderAt = attributesOrNull(folder);
            if (folderAt == null) {
                throw new IOException(cannot + ": its folder " + folder + " does not exist; create it first"
                        + " (Files.createDirectories)");
            }
            if (!folderAt.isDirectory()) {
                throw new IOException(cannot + ": " + folder + " is not a folder");
            }
        }
        if (!Files.isWritable(folder)) {
            throw new IOException(cannot + ": its folder " + folder + " is not writable by this process, and an atomic "
                    + "replace first creates a temporary file there; make the folder writable"
                    + (targetAt != null ? ", or write with Npy.WriteMode.IN_PLACE (not atomic: a crash during the"
                    + " write leaves a partial file)" : ""));
        }
        AtomicReplace r = new AtomicReplace(operation, given, target, at, targetAt == null ? null : targetAt.fileKey(),
                mode, durable);
        if (durable) {
            try {
                r.folderChannel = FileChannel.open(folder, StandardOpenOption.READ);
            } catch (IOException e) {
                throw new IOException(cannot + ": its folder " + folder + " cannot be opened to force the rename to disk ("
                        + reason(e) + "); write with Npy.WriteMode.ATOMIC to replace the file without forcing it", e);
            }
        }
        return r;
    }

    /** The file that will be replaced: the destination, or the file its symbolic link names. */
    Path target() {
        return target;
    }

    /** The temporary file, once {@link #open} created it. */
    Path temporary() {
        return temporary;
    }

    /**
     * Creates the temporary file ({@code CREATE_NEW}: never an existing file,
     * never through a link) with the replaced file's owner, group and
     * permission bits, and returns its channel, open for reading and writing.
     */
    FileChannel open() throws IOException {
        for (int attempt = 0; channel == null; attempt++) {
            Path candidate = folder.resolve(temporaryName(target.getFileName().toString(), ProcessHandle.current().pid()));
            try {
                channel = FileChannel.open(candidate, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                temporary = candidate;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 8) {
                    throw e;
                }
            } catch (IOException e) {
                throw new IOException(cannot() + ": its temporary file cannot be created in " + folder + " (" + reason(e)
                        + "); " + target + " is unchanged", e);
            }
        }
        if (targetMode != null) {
            keepOwnerAndPermissions();
        }
        return channel;
    }

    private void keepOwnerAndPermissions() throws IOException {
        boolean changedOwner = false;
        FileMode now = FileMode.of(temporary);
        try {
            if (now.uid() != targetMode.uid()) {
                Files.setAttribute(temporary, "unix:uid", targetMode.uid(), LinkOption.NOFOLLOW_LINKS);
                changedOwner = true;
            }
            if (now.gid() != targetMode.gid()) {
                Files.setAttribute(temporary, "unix:gid", targetMode.gid(), LinkOption.NOFOLLOW_LINKS);
                changedOwner = true;
            }
        } catch (IOException e) {
            String owner = targetMode.uid() + ":" + targetMode.gid();
            try {
                PosixFileAttributes names = Files.readAttributes(target, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                owner = names.owner().getName() + ":" + names.group().getName();
            } catch (IOException | RuntimeException unnamed) {
                // the numbers will do
            }
            throw failed(target + " belongs to " + owner + ", and this process cannot give its replacement that owner ("
                    + reason(e) + "), so replacing it would change who owns the file; write as its owner, or with"
                    + " Npy.WriteMode.IN_PLACE (not atomic)", e);
        }
        try {
            // After the owner: chown may clear set-id bits. Usually the bits are already right (umask 022, mode 644).
            if (changedOwner || now.permissionBits() != targetMode.permissionBits()) {
                Files.setAttribute(temporary, "unix:mode", targetMode.permissionBits(), LinkOption.NOFOLLOW_LINKS);
            }
        } catch (IOException e) {
            throw failed("its temporary file cannot be given the permissions of " + target + " ("
                    + Integer.toOctalString(targetMode.permissionBits()) + ": " + reason(e) + ")", e);
        }
    }

    /** A file's mode, owner and group, as numbers. */
    record FileMode(int mode, int uid, int gid) {

        static FileMode of(Path p) throws IOException {
            Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
            return new FileMode((Integer) a.get("mode"), (Integer) a.get("uid"), (Integer) a.get("gid"));
        }

        /** Permission, set-id and sticky bits: what chmod sets. */
        int permissionBits() {
            return mode & 07777;
        }
    }

    /**
     * Forces the temporary file (when durable), checks that the destination is
     * still what {@link #prepare} saw, moves the temporary file over it
     * atomically, and forces the folder (when durable).
     */
    void commit() throws IOException {
        if (durable) {
            try {
                channel.force(true);
            } catch (IOException e) {
                throw failed("its temporary file " + temporary + " could not be forced to disk (" + reason(e) + ")", e);
            }
        }
        Npy.step(STEP_COMMIT, temporary, -1);
        checkUnchanged();
        try {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw failed("the file system of " + folder + " cannot move a file over " + target + " atomically ("
                    + reason(e) + "); write with Npy.WriteMode.IN_PLACE if a write that a crash can leave half done is"
                    + " acceptable", e);
        } catch (IOException e) {
            if (isMountPoint(target)) {
                throw failed(target + " is a mount point of its own (a bind-mounted file), which no file can be moved over"
                        + " (" + reason(e) + "); write with Npy.WriteMode.IN_PLACE to write into it", e);
            }
            throw failed("moving its temporary file " + temporary + " over " + target + " failed (" + reason(e) + ")", e);
        }
        committed = true;
        channel.close();
        if (durable) {
            try {
                folderChannel.force(true);
            } catch (IOException e) {
                throw new IOException(given + " was replaced, but its folder " + folder + " could not be forced to disk ("
                        + reason(e) + "): after a power loss it may show the old file again", e);
            }
        }
    }

    /**
     * The exception for a failure before the move: the temporary file is
     * discarded first, so the message can say whether it is gone.
     */
    IOException failed(String what, IOException cause) {
        String outcome = discard();
        return new IOException(cannot() + ": " + what + "; " + target + " is unchanged and " + outcome, cause);
    }

    /**
     * Refuses to move over a destination that changed since {@link #prepare}:
     * deleted, replaced (by another writer, or by a symbolic link), or created
     * when it was absent. The window between this check and the rename is a
     * few system calls wide; Java has no {@code renameat2(RENAME_EXCHANGE)} to close it.
     */
    private void checkUnchanged() throws IOException {
        BasicFileAttributes now = attributesOrNull(given, LinkOption.NOFOLLOW_LINKS);
        String was = describe(givenAttributes, given);
        String is = describe(now, given);
        boolean same = givenAttributes == null ? now == null
                : now != null && Objects.equals(givenAttributes.fileKey(), now.fileKey())
                        && givenAttributes.isSymbolicLink() == now.isSymbolicLink();
        if (same && target != given) {
            // A link: it must still name the same file.
            BasicFileAttributes t = attributesOrNull(target, LinkOption.NOFOLLOW_LINKS);
            Path resolved;
            try {
                resolved = given.toRealPath();
            } catch (IOException e) {
                resolved = null;
            }
            if (!target.equals(resolved) || t == null || !Objects.equals(targetKey, t.fileKey())) {
                same = false;
                was = "a symbolic link to the regular file " + target + " " + targetKey;
                is = resolved == null ? describe(now, given) + " that names nothing" : describe(now, given)
                        + " naming " + describe(attributesOrNull(resolved), resolved);
            }
        }
        if (!same) {
            String outcome = discard();
            throw new IOException(cannot() + ": it changed while it was being written (it was " + was + ", it is now " + is
                    + "), so it was left as it is and the new data was discarded (" + outcome + "); write again if the"
                    + " new data should replace what is there now");
        }
    }

    private static String describe(BasicFileAttributes a, Path p) {
        if (a == null) {
            return "absent";
        }
        if (a.isSymbolicLink()) {
            String to;
            try {
                to = String.valueOf(Files.readSymbolicLink(p));
            } catch (IOException e) {
                to = "?";
            }
            return "a symbolic link to " + to;
        }
        String kind = a.isRegularFile() ? "the regular file" : a.isDirectory() ? "a directory" : "a special file";
        return kind + " " + a.fileKey();
    }

    /**
     * Discards the temporary file of a replacement that will not commit and
     * says what became of it, for the failure's message: removed, or left
     * (with the reason and what to do).
     */
    String discard() {
        if (temporary == null) {
            return "no temporary file was created";
        }
        if (committed) {
            return "the temporary file became " + target;
        }
        try {
            channel.close();
        } catch (IOException e) {
            // nothing was lost: the file is being discarded
        }
        if (discarded) {
            return "its temporary file was removed";
        }
        try {
            Files.deleteIfExists(temporary);
            discarded = true;
            return "its temporary file was removed";
        } catch (IOException e) {
            return "its temporary file " + temporary + " could not be removed (" + reason(e) + "): delete it, or call"
                    + " Npy.deleteStaleTemporaryFiles(" + folder + ") once this process has ended";
        }
    }

    /** Removes the temporary file unless the replacement committed or it was discarded; closes what is open. */
    @Override
    public void close() throws IOException {
        IOException failure = null;
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException e) {
            failure = e;
        }
        if (!committed && !discarded && temporary != null) {
            try {
                Files.deleteIfExists(temporary);
                discarded = true;
            } catch (IOException e) {
                IOException left = new IOException("the temporary file " + temporary + " of a failed " + operation
                        + " of " + given + " could not be removed (" + reason(e) + "); delete it, or call"
                        + " Npy.deleteStaleTemporaryFiles(" + folder + ") once this process has ended", e);
                if (failure != null) {
                    left.addSuppressed(failure);
                }
                failure = left;
            }
        }
        try {
            if (folderChannel != null) {
                folderChannel.close();
            }
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    String cannot() {
        return "cannot " + operation + " " + given;
    }

    Path given() {
        return given;
    }

    // ------------------------------------------------------------------ temporary names

    static String temporaryName(String name, long pid) {
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        String kept = name;
        if (utf8.length > MAX_NAME_BYTES) {
            int end = name.length();
            while (name.substring(0, end).getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                end--;
            }
            if (end > 0 && Character.isHighSurrogate(name.charAt(end - 1))) {
                end--;
            }
            kept = name.substring(0, end);
        }
        // Unpredictability is not needed: CREATE_NEW never opens an existing file or follows a link.
        return "." + kept + MARKER + pid + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    }

    static boolean isTemporary(Path file) {
        Path name = file.getFileName();
        return name != null && TEMPORARY.matcher(name.toString()).matches();
    }

    /** The process id in a temporary file's name, or -1 when the name is not one. */
    static long writerPid(Path file) {
        Path name = file.getFileName();
        Matcher m = name == null ? null : TEMPORARY.matcher(name.toString());
        if (m == null || !m.matches()) {
            return -1;
        }
        try {
            return Long.parseLong(m.group(2));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static List<Path> deleteStale(Path folder) throws IOException {
        List<Path> deleted = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder, AtomicReplace::isTemporary)) {
            for (Path p : entries) {
                long pid = writerPid(p);
                BasicFileAttributes a = attributesOrNull(p, LinkOption.NOFOLLOW_LINKS);
                // Only regular files whose writer is gone: a live writer's file is still being written.
                if (a != null && a.isRegularFile() && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    if (Files.deleteIfExists(p)) {
                        deleted.add(p);
                    }
                }
            }
        }
        return deleted;
    }

    // ------------------------------------------------------------------ file facts

    static BasicFileAttributes attributesOrNull(Path p, LinkOption... options) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, options);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Whether {@code real} (a real path) is a mount point, from /proc/self/mountinfo;
     * false when that cannot be read. Asked only once a move failed, to say why:
     * reading the mount table costs more than a small write, and a bind-mounted
     * destination is rare (the move then fails with EBUSY, the destination untouched).
     */
    private static boolean isMountPoint(Path real) {
        Path info = Path.of("/proc/self/mountinfo");
        if (!Files.isReadable(info)) {
            return false;
        }
        String want = real.toString();
        try {
            for (String line : Files.readAllLines(info, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ", 6);
                if (f.length > 4 && unescapeMountPath(f[4]).equals(want)) {
                    return true;
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return false;
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes ({@code \040}). */
    private static String unescapeMountPath(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException e) {
                    // not an escape: keep the backslash
                }
            }
            out.append(c);
        }
        return out.toString();
    }

    /** An I/O exception's reason: the operating system's words when it has them. */
    static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
