// A blocked worker woken by a caller is first pinned to a CPU other than the caller's
// (ThreadPlacement, WorkerTeam.Worker.Start): on VMs whose idle vCPUs count as preempted, the
// kernel otherwise woke it on the caller's own CPU. Linux with two or more CPUs only (elsewhere
// nothing is pinned, and the tests return early).
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Engine;

public class ThreadPlacementTests
{
    private static int[]? Cpus => OperatingSystem.IsLinux() ? ThreadPlacement.ReadCpus(0) : null;

    [Fact]
    public void PinsAThreadToTheKthCpuOtherThanTheOneToAvoid()
    {
        if (Cpus is not { Length: >= 2 } cpus) return;
        int tid = -1; var pinned = new ManualResetEventSlim(); var done = new ManualResetEventSlim();
        var thread = new Thread(() => { tid = ThreadPlacement.CurrentThreadId(); pinned.Wait(); done.Set(); }) { IsBackground = true };
        thread.Start();
        while (Volatile.Read(ref tid) < 0) Thread.Sleep(1);
        try
        {
            Assert.True(ThreadPlacement.PinAwayFrom(tid, 0, avoid: cpus[0]));
            Assert.Equal(new[] { cpus[1] }, ThreadPlacement.ReadCpus(tid));
            // k counts the other CPUs cyclically, skipping the one to avoid.
            Assert.True(ThreadPlacement.PinAwayFrom(tid, cpus.Length - 1, avoid: cpus[1]));
            Assert.Equal(new[] { cpus[0] }, ThreadPlacement.ReadCpus(tid));
        }
        finally { pinned.Set(); done.Wait(); }
    }

    [Fact]
    public void AWorkerWokenFromItsSleepRunsOffTheCallersCpu()
    {
        if (Cpus is not { Length: >= 2 } cpus || !ThreadPlacement.Enabled) return;
        var team = new WorkerTeam(1);
        var saved = ThreadPlacement.ReadCpus(0)!;
        // The test thread pinned to one CPU, so that where the caller is cannot change under the test.
        Assert.True(ThreadPlacement.PinCurrentThread(new[] { cpus[0] }));
        try
        {
            team.TryRun(2, 2, (_, _) => { });
            // Until the worker has run, recorded its thread id, spun past its wait and blocked (a loaded
            // machine may take a while to give it a core).
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (!(team.WorkerThreadId(0) > 0 && team.WorkerSleeping(0)) && waited.Elapsed.TotalSeconds < 10) Thread.Sleep(5);
            Assert.True(team.WorkerSleeping(0), "the worker did not block within 10 s");
            var cpuOfChunk = new int[2]; var threadOfChunk = new int[2];
            Assert.True(team.TryRun(2, 2, (s, e) =>
            {
                for (int c = s; c < e; c++) { cpuOfChunk[c] = ThreadPlacement.CurrentCpu(); threadOfChunk[c] = Environment.CurrentManagedThreadId; }
                Thread.SpinWait(2_000_000);   // long enough that the worker, woken, takes the other chunk
            }));
            int worker = team.WorkerThreadId(0);
            Assert.True(worker > 0);
            Assert.Equal(new[] { cpus[1] }, ThreadPlacement.ReadCpus(worker));   // pinned off the caller's CPU before it woke
            for (int c = 0; c < 2; c++)
                if (threadOfChunk[c] != Environment.CurrentManagedThreadId) Assert.Equal(cpus[1], cpuOfChunk[c]);
        }
        finally { ThreadPlacement.PinCurrentThread(saved); }
    }
}
