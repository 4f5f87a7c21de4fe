// Persistent worker threads for Engine.For. The thread pool wakes a second worker 1–3 ms late on
// this kind of VM (measured by the `engine-for` bench), which halves the speed of every parallel op
// shorter than ~10 ms. These workers instead spin for a short while after each job, watching for
// the next one (only pausing between looks for the first 50 µs, then backing off and yielding),
// and only then block — the way OpenMP teams behave. The caller runs chunk 0 itself.
// Chunk boundaries are the caller's, so results do not depend on which thread runs which chunk.
// One job at a time: a call made while the team is busy (another thread, or a nested For) gets
// false and runs some other way.
using System.Diagnostics;

namespace Lethe.Tensors;

internal sealed class WorkerTeam
{
    private const double SpinMilliseconds = 2.0;
    /// <summary>
    /// For this long a waiting thread only pauses between looks (no yield to the OS): a decoding step
    /// hands the other cores a product every few microseconds, and SpinWait's backoff and yields made
    /// each hand-off cost about 2 µs.
    /// </summary>
    private static readonly long FastSpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    private readonly Worker[] workers;
    private int busy; // 1 while a job runs; not a Monitor, which would let the same thread re-enter
    private Action<int, int>? body;
    private int n, chunks;
    private int pending;
    private Exception? failure;

    public WorkerTeam(int size)
    {
        workers = new Worker[size];
        for (int i = 0; i < size; i++) workers[i] = new Worker(this, i + 1);
    }

    public int Size => workers.Length;

    /// <summary>Runs body over `chunks` fixed ranges of [0, n); false (nothing run) when the team is busy.</summary>
    public bool TryRun(int n, int chunks, Action<int, int> body)
    {
        if (Interlocked.CompareExchange(ref busy, 1, 0) != 0) return false;
        try
        {
            this.body = body; this.n = n; this.chunks = chunks; failure = null;
            Volatile.Write(ref pending, chunks - 1);
            for (int c = 1; c < chunks; c++) workers[c - 1].Start();
            RunChunk(0);
            var spin = new SpinWait();
            long fastUntil = Stopwatch.GetTimestamp() + FastSpinTicks;
            while (Volatile.Read(ref pending) > 0)
                if (Stopwatch.GetTimestamp() < fastUntil) Thread.SpinWait(1);
                else spin.SpinOnce(sleep1Threshold: -1);
            this.body = null;
            if (failure is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
            return true;
        }
        finally { Volatile.Write(ref busy, 0); }
    }

    private void RunChunk(int c)
    {
        int start = (int)((long)n * c / chunks), end = (int)((long)n * (c + 1) / chunks);
        try { if (end > start) body!(start, end); }
        catch (Exception e) { Interlocked.CompareExchange(ref failure, e, null); }
    }

    private sealed class Worker
    {
        private readonly WorkerTeam team;
        private readonly int chunk;
        private readonly ManualResetEventSlim wake = new(false);
        private int jobs;      // jobs given to this worker (written by the caller)
        private int sleeping;  // 1 while blocked on `wake`

        public Worker(WorkerTeam team, int chunk)
        {
            this.team = team; this.chunk = chunk;
            new Thread(Loop) { IsBackground = true, Name = $"lethe-worker-{chunk}" }.Start();
        }

        public void Start()
        {
            Interlocked.Increment(ref jobs);
            if (Interlocked.CompareExchange(ref sleeping, 0, 0) == 1) wake.Set();
        }

        private void Loop()
        {
            int done = 0;
            while (true)
            {
                if (!WaitForJob(done)) continue;
                done++;
                team.RunChunk(chunk);
                Interlocked.Decrement(ref team.pending);
            }
        }

        /// <summary>Spins briefly for job number done + 1, then blocks; true when it has arrived.</summary>
        private bool WaitForJob(int done)
        {
            long now = Stopwatch.GetTimestamp(), until = now + (long)(SpinMilliseconds * Stopwatch.Frequency / 1000), fastUntil = now + FastSpinTicks;
            var spin = new SpinWait();
            while (Volatile.Read(ref jobs) == done)
            {
                if (Stopwatch.GetTimestamp() > until)
                {
                    // Announce sleep, then re-check: a Start() between the two sees sleeping = 1 and sets wake.
                    Interlocked.Exchange(ref sleeping, 1);
                    if (Volatile.Read(ref jobs) == done) wake.Wait();
                    Interlocked.Exchange(ref sleeping, 0);
                    wake.Reset();
                    return Volatile.Read(ref jobs) != done;
                }
                if (Stopwatch.GetTimestamp() < fastUntil) Thread.SpinWait(1);
                else spin.SpinOnce(sleep1Threshold: -1);
            }
            return true;
        }
    }
}
