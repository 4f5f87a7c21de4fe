// Makes runs on one output folder exclusive: Acquire opens PARENT/.NAME.lock with an exclusive,
// non-blocking advisory lock (flock on Linux, through FileShare.None). A second run on the same
// folder, from this process or another, is refused at once with a message naming the lock file
// and the verb holding it. The kernel drops the lock when the holder exits, even by kill -9, so a
// crashed run never leaves a stale lock; the file itself is removed on a normal release.
using System.Text;

namespace Lethe.IO;

public sealed class RunLock : IDisposable
{
    private FileStream? stream;

    private RunLock(string path, FileStream stream) { Path = path; this.stream = stream; }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>The lock file that guards `folder` (beside it, so the folder itself can be swapped).</summary>
    public static string LockPathOf(string folder)
    {
        string full = OutputPolicy.Canonical(folder);
        return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full) ?? "/", $".{System.IO.Path.GetFileName(full)}.lock");
    }

    /// <summary>Takes the lock of `folder` for `verb`, or throws a LetheException when another run holds it.</summary>
    public static RunLock Acquire(string folder, string verb)
    {
        string path = LockPathOf(folder);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        FileStream s;
        try { s = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException)
        {
            string holder = ReadUnlocked(path);
            throw new LetheException($"{folder}: another run is writing this folder{(holder.Length > 0 ? $" ({holder})" : "")}, holding {path}; wait for it to finish, or choose another output folder");
        }
        s.SetLength(0);
        s.Write(Encoding.UTF8.GetBytes($"lethe {verb}, process {Environment.ProcessId}, since {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n"));
        s.Flush();
        return new RunLock(path, s);
    }

    /// <summary>The holder's line, read with plain read(2): .NET's own file API would honour the lock and refuse.</summary>
    private static string ReadUnlocked(string path)
    {
        if (!OperatingSystem.IsLinux()) return "";
        int fd = open(path, 0);
        if (fd < 0) return "";
        try
        {
            var buffer = new byte[512];
            nint n = read(fd, buffer, buffer.Length);
            return n > 0 ? Encoding.UTF8.GetString(buffer, 0, (int)n).Trim() : "";
        }
        finally { close(fd); }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int close(int fd);

    public void Dispose()
    {
        if (stream is null) return;
        try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { } // while still held
        stream.Dispose();
        stream = null;
    }
}
