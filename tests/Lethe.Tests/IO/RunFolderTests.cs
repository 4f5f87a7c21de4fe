// Output policy, staged folders and run locks as a library: a staged run replaces its folder only
// when committed, an interrupted one leaves the previous output whole, a kill between the two
// renames is repaired by the next run, and a second run on a locked folder is refused at once.
using Lethe.IO;
using Xunit;

namespace Lethe.Tests.IO;

public class RunFolderTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("lethe-runfolder-").FullName;
    public void Dispose() => Directory.Delete(root, true);

    private string P(string name) => Path.Combine(root, name);

    [Fact]
    public void AStagedRunReplacesTheFolderOnlyWhenCommitted()
    {
        var policy = new OutputPolicy("demo", force: false);
        using (var first = StagedFolder.Begin(policy, "--out", P("out")))
        {
            File.WriteAllText(Path.Combine(first.Staging, "results.json"), "1");
            Assert.False(Directory.Exists(P("out")));
            first.Commit();
        }
        Assert.Equal("1", File.ReadAllText(P("out/results.json")));
        Assert.True(OutputPolicy.IsMarked(P("out"), "demo"));

        // A rerun that is interrupted (no Commit) leaves the first run's output as it was.
        using (var second = StagedFolder.Begin(policy, "--out", P("out")))
            File.WriteAllText(Path.Combine(second.Staging, "results.json"), "2");
        Assert.Equal("1", File.ReadAllText(P("out/results.json")));
        Assert.Equal(new[] { P("out") }, Directory.GetDirectories(root));

        // Another verb's folder, or a foreign one, is refused without --force.
        Assert.Throws<LetheException>(() => StagedFolder.Begin(new OutputPolicy("train", false), "--out", P("out")));
        Directory.CreateDirectory(P("mine"));
        File.WriteAllText(P("mine/notes.txt"), "user's");
        var e = Assert.Throws<LetheException>(() => StagedFolder.Begin(policy, "--out", P("mine")));
        Assert.Contains("pass force", e.Message); Assert.Contains("force", e.Parameters);
    }

    [Fact]
    public void AKillBetweenTheRenamesIsRepairedByTheNextRun()
    {
        var policy = new OutputPolicy("demo", false);
        using (var first = StagedFolder.Begin(policy, "--out", P("out")))
        {
            File.WriteAllText(Path.Combine(first.Staging, "results.json"), "1");
            first.Commit();
        }
        // What a kill after "OUT → .OUT.old-ID" leaves: no OUT, the old output aside, a staging folder.
        Directory.Move(P("out"), P(".out.old-dead"));
        Directory.CreateDirectory(P(".out.staging-dead"));
        using (var next = StagedFolder.Begin(policy, "--out", P("out")))
        {
            Assert.Equal("1", File.ReadAllText(P("out/results.json")));
            Assert.False(Directory.Exists(P(".out.old-dead")));
            Assert.False(Directory.Exists(P(".out.staging-dead")));
        }
    }

    [Fact]
    public void ASecondRunOnALockedFolderIsRefusedAndTheLockDiesWithItsHolder()
    {
        var policy = new OutputPolicy("demo", false);
        using (var held = RunLock.Acquire(P("out"), "demo"))
        {
            var e = Assert.Throws<LetheException>(() => StagedFolder.Begin(policy, "--out", P("out")));
            Assert.Contains("another run is writing", e.Message);
            Assert.Contains("lethe demo", e.Message);
        }
        using (StagedFolder.Begin(policy, "--out", P("out"))) { }
        Assert.False(File.Exists(RunLock.LockPathOf(P("out"))));
    }

    [Fact]
    public void CanonicalResolvesLinksSlashesAndLoops()
    {
        Directory.CreateDirectory(P("real/sub"));
        File.CreateSymbolicLink(P("link"), P("real"));
        Assert.Equal(OutputPolicy.Canonical(P("real/sub")), OutputPolicy.Canonical(P("link/sub/")));
        Assert.Equal(OutputPolicy.Canonical(P("real")) + "/new/file", OutputPolicy.Canonical(P("link/new/file")));
        File.CreateSymbolicLink(P("a"), P("b"));
        File.CreateSymbolicLink(P("b"), P("a"));
        Assert.Contains("symbolic links", Assert.Throws<LetheException>(() => OutputPolicy.Canonical(P("a/x"))).Message);
    }
}
