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
            string holder = "";
            try { holder = File.ReadAllText(path).Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new LetheException($"{folder}: another run is writing this folder{(holder.Length > 0 ? $" ({holder})" : "")}, holding {path}; wait for it to finish, or choose another output folder");
        }
        s.SetLength(0);
        s.Write(Encoding.UTF8.GetBytes($"lethe {verb}, process {Environment.ProcessId}, since {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n"));
        s.Flush();
        return new RunLock(path, s);
    }

    public void Dispose()
    {
        if (stream is null) return;
        try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { } // while still held
        stream.Dispose();
        stream = null;
    }
}
