// Checks on the files a user hands to Lethe, made before they are opened:
//  - RequireRegular: a path must be a regular file (after symlinks): a FIFO would block the open
//    forever, a device would be read without end. Checked with stat(2), which never blocks.
//  - ReadLines / ReadAllText: strict UTF-8 (a malformed byte sequence is an error naming the file
//    and the line, never a silent U+FFFD), a leading byte-order mark dropped.
using System.Runtime.InteropServices;
using System.Text;

namespace Lethe.IO;

public static class InputFiles
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Throws unless path is a regular file; `what` names it in the message (e.g. "weights file").</summary>
    public static void RequireRegular(string path, string what = "file")
    {
        if (Directory.Exists(path)) throw new LetheException($"{path}: is a folder, not a {what}");
        var (found, regular, errno) = Stat(path);
        if (!found)
            throw new LetheException(errno switch
            {
                40 => $"{path}: a loop of symbolic links (ELOOP); point the link at the real {what}",
                13 => $"{path}: permission denied; make the {what} readable",
                _ when File.Exists(path) || new FileInfo(path).LinkTarget is not null => $"{path}: a broken symbolic link; point it at the real {what}",
                _ => $"{path}: {what} not found; check the path",
            });
        if (!regular)
            throw new LetheException($"{path}: is not a regular file (a pipe, device or socket); give the {what} itself — Lethe does not read from pipes or devices");
    }

    /// <summary>True when path (after symlinks) is a regular file.</summary>
    public static bool IsRegularFile(string path) => Stat(path).regular;

    /// <summary>stat(2), which follows symlinks and never blocks: (exists, is a regular file, errno when it failed).</summary>
    private static (bool found, bool regular, int errno) Stat(string path)
    {
        if (!OperatingSystem.IsLinux()) return (File.Exists(path) || Directory.Exists(path), File.Exists(path), 0);
        var buffer = new byte[256];
        try
        {
            if (stat(path, buffer) != 0) return (false, false, Marshal.GetLastPInvokeError());
        }
        catch (EntryPointNotFoundException) { return (File.Exists(path) || Directory.Exists(path), File.Exists(path), 0); }
        // st_mode's offset in struct stat: 24 on x86-64 (dev, ino, nlink are 8 bytes each), 16 on arm64 (nlink after mode).
        int offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        uint mode = BitConverter.ToUInt32(buffer, offset);
        return (true, (mode & 0xF000) == 0x8000, 0); // S_IFMT, S_IFREG
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);

    /// <summary>The file's lines (without line ends), decoded as strict UTF-8; a bad byte names the line.</summary>
    public static IEnumerable<string> ReadLines(string path)
    {
        RequireRegular(path, "text file");
        return Lines(path);

        static IEnumerable<string> Lines(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var reader = new ByteLines(stream);
            int number = 0;
            while (reader.Next() is { } bytes)
            {
                number++;
                string line;
                try { line = Strict.GetString(bytes); }
                catch (DecoderFallbackException) { throw NotUtf8(path, number); }
                if (number == 1 && line.StartsWith('\uFEFF')) line = line[1..];
                yield return line;
            }
        }
    }

    /// <summary>Throws unless path is a regular file of valid UTF-8 text (checked line by line, naming the first bad line).</summary>
    public static void RequireText(string path, string what = "text file")
    {
        RequireRegular(path, what);
        foreach (var _ in ReadLines(path)) { }
    }

    /// <summary>The whole file as strict UTF-8 text; a bad byte names its line.</summary>
    public static string ReadAllText(string path)
    {
        RequireRegular(path, "text file");
        var bytes = File.ReadAllBytes(path);
        try
        {
            string text = Strict.GetString(bytes);
            return text.StartsWith('\uFEFF') ? text[1..] : text;
        }
        catch (DecoderFallbackException)
        {
            int number = 0;
            foreach (var l in SplitLines(bytes))
            {
                number++;
                try { Strict.GetString(l); } catch (DecoderFallbackException) { throw NotUtf8(path, number); }
            }
            throw NotUtf8(path, number); // a sequence split across lines: name the last one
        }
    }

    private static IEnumerable<byte[]> SplitLines(byte[] bytes)
    {
        int start = 0;
        for (int i = 0; i <= bytes.Length; i++)
            if (i == bytes.Length || bytes[i] == (byte)'\n') { yield return bytes[start..i]; start = i + 1; }
    }

    private static LetheException NotUtf8(string path, int line) =>
        new($"{path}:{line}: the line is not valid UTF-8; convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or fix that line");

    /// <summary>Splits a stream into lines of raw bytes (LF or CRLF), so each line can be decoded on its own.</summary>
    private sealed class ByteLines(Stream stream)
    {
        private readonly byte[] buffer = new byte[1 << 16];
        private int start, end;
        private bool eof;

        public byte[]? Next()
        {
            var line = new MemoryStream();
            while (true)
            {
                if (start == end)
                {
                    if (eof) return line.Length > 0 ? Trim(line.ToArray()) : null;
                    end = stream.Read(buffer, 0, buffer.Length); start = 0;
                    if (end == 0) { eof = true; continue; }
                }
                int nl = Array.IndexOf(buffer, (byte)'\n', start, end - start);
                if (nl < 0) { line.Write(buffer, start, end - start); start = end; continue; }
                line.Write(buffer, start, nl - start);
                start = nl + 1;
                return Trim(line.ToArray());
            }
        }

        private static byte[] Trim(byte[] b) => b.Length > 0 && b[^1] == (byte)'\r' ? b[..^1] : b;
    }
}
