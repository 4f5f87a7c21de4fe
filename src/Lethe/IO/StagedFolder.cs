// A run's output folder, written as a whole: Begin takes the folder's RunLock, checks the folder
// with the output policy (so it must be new, empty, or this verb's own previous output unless
// --force), and hands out a staging folder beside it (PARENT/.NAME.staging-ID) to write into.
// Commit marks the staging folder as this verb's output and swaps it in with two renames
// (FINAL → .NAME.old-ID, staging → FINAL) and then deletes the old one. An interrupted run leaves
// FINAL as it was; a kill between the two renames leaves the previous output in .NAME.old-ID,
// which the next Begin puts back. Stale staging folders of dead runs are removed by the next Begin.
namespace Lethe.IO;

public sealed class StagedFolder : IDisposable
{
    private readonly RunLock runLock;
    private bool committed;

    private StagedFolder(string final, string staging, string verb, RunLock runLock)
    {
        Final = final; Staging = staging; Verb = verb; this.runLock = runLock;
    }

    /// <summary>The folder the user named (resolved); holds the previous output until Commit.</summary>
    public string Final { get; }
    /// <summary>Where this run writes.</summary>
    public string Staging { get; }
    public string Verb { get; }

    /// <summary>Locks and checks `option folder` for policy.Verb (isOwn: extra recognizer of the verb's earlier outputs).</summary>
    public static StagedFolder Begin(OutputPolicy policy, string option, string? folder, Func<string, bool>? isOwn = null)
    {
        string final = policy.Folder(option, folder, isOwn); // empty path, inputs, foreign folders: refused before the lock is made
        var runLock = RunLock.Acquire(final, policy.Verb);
        try
        {
            string parent = Path.GetDirectoryName(final)!, name = Path.GetFileName(final);
            // Under the lock no other run is alive here: repair a swap cut by a kill, drop dead runs' leftovers.
            var olds = Directory.GetDirectories(parent, $".{name}.old-*");
            if (!Directory.Exists(final) && olds.Length > 0) Directory.Move(olds[0], final);
            foreach (var stale in Directory.GetDirectories(parent, $".{name}.staging-*").Concat(Directory.GetDirectories(parent, $".{name}.old-*")))
                Directory.Delete(stale, recursive: true);
            string staging = Path.Combine(parent, $".{name}.staging-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            return new StagedFolder(final, staging, policy.Verb, runLock);
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    /// <summary>Swaps the staging folder in as Final (the previous output, if any, is removed).</summary>
    public void Commit()
    {
        if (committed) return;
        OutputPolicy.Mark(Staging, Verb);
        string old = Path.Combine(Path.GetDirectoryName(Final)!, $".{Path.GetFileName(Final)}.old-{Guid.NewGuid():N}");
        bool hadOld = Directory.Exists(Final);
        if (hadOld) Directory.Move(Final, old);
        Directory.Move(Staging, Final);
        committed = true;
        if (hadOld) Directory.Delete(old, recursive: true);
    }

    /// <summary>Without Commit: the staging folder is deleted and Final is left as it was. Releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            if (!committed && Directory.Exists(Staging)) Directory.Delete(Staging, recursive: true);
        }
        catch (IOException) { } catch (UnauthorizedAccessException) { }
        runLock.Dispose();
    }
}
