// Persistent worker threads for Engine.For. The thread pool wakes a second worker 1–3 ms late on
// this kind of VM (measured by the `engine-for` bench), which halves the speed of every parallel op
// shorter than ~10 ms. These workers instead spin for a short while after each job, watching for
// the next one (only pausing between looks for the first 50 µs, then backing off and yielding),
// and only then block — the way OpenMP teams behave. The caller and the woken workers take the
// chunks one at a time from a shared counter, so a worker that starts late (its core busy with
// another process, as on a shared VM) leaves its chunk to the caller instead of making it wait.
// Chunk boundaries are the caller's, so results do not depend on which thread runs which chunk.
// A caller that wakes a blocked worker first pins it off the caller's own CPU (ThreadPlacement):
// on the VMs measured, the worker otherwise woke there, and the two shared one core for
// milliseconds.
// One job at a time: a call made while the team is busy (another thread, or a nested For) gets
// false and runs some other way.
using System.Diagnostics;

namespace Lethe.Tensors;

internal sealed class WorkerTeam
{
    private const double SpinMilliseconds = 2.0;
    /// <summary>
    /// For this long a waiting thread only pauses between looks (no backoff, no yield to the OS): a
    /// decoding step hands the other cores a product every few microseconds. On the shipped model
    /// with both cores, a token took 3–7 % less time than with SpinWait's backoff from the start
    /// (four alternated rounds, both dtypes).
    /// </summary>
    private static readonly long FastSpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    private readonly Worker[] workers;
    private int busy; // 1 while a job runs; not a Monitor, which would let the same thread re-enter
    private Action<int, int>? body;
    private int n, chunks;
    private int pending;   // chunks not yet finished
    /// <summary>The job's chunk counter: job number (high 32 bits), chunk count (next 16), next chunk to take (low 16).</summary>
    private long claim;
    private int job;
    private Exception? failure;

    public WorkerTeam(int size)
    {
        workers = new Worker[size];
        for (int i = 0; i < size; i++) workers[i] = new Worker(this, i + 1);
    }

    public int Size => workers.Length;

    /// <summary>Worker i's kernel thread id (−1 until it runs, or where the OS gives none): tests read its CPUs.</summary>
    internal int WorkerThreadId(int i) => workers[i].ThreadId;

    /// <summary>Whether worker i is blocked, waiting to be woken (tests).</summary>
    internal bool WorkerSleeping(int i) => workers[i].Sleeping;

    /// <summary>Runs body over `chunks` fixed ranges of [0, n); false (nothing run) when the team is busy.</summary>
    public bool TryRun(int n, int chunks, Action<int, int> body)
    {
        if (Interlocked.CompareExchange(ref busy, 1, 0) != 0) return false;
        try
        {
            if (chunks > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(chunks), $"{chunks} chunks; at most 65535");
            this.body = body; this.n = n; this.chunks = chunks; failure = null;
            Volatile.Write(ref pending, chunks);
            job++;
            Volatile.Write(ref claim, ((long)job << 32) | ((long)chunks << 16));
            for (int c = 1; c < chunks; c++) workers[c - 1].Start();
            if (TakeChunks() == chunks && chunks > 1) Interlocked.Increment(ref callerRanAll);
            var spin = new SpinWait();
            long fastUntil = Stopwatch.GetTimestamp() + FastSpinTicks;
            while (Volatile.Read(ref pending) > 0) Pause(ref spin, fastUntil);
            this.body = null;
            if (failure is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
            return true;
        }
        finally { Volatile.Write(ref busy, 0); }
    }

    /// <summary>
    /// Takes and runs the current job's chunks until none is left. A worker that wakes after its job
    /// has finished finds none (or, if the next job has begun, takes that one's: the fields it reads
    /// after taking a chunk are that job's, which cannot end while the chunk is pending).
    /// </summary>
    private int TakeChunks()
    {
        for (int ran = 0; ; )
        {
            long v = Volatile.Read(ref claim);
            int next = (int)(v & 0xFFFF), count = (int)((v >> 16) & 0xFFFF);
            if (next >= count) return ran;
            if (Interlocked.CompareExchange(ref claim, v + 1, v) != v) continue;
            RunChunk(next);
            ran++;
            Interlocked.Decrement(ref pending);
        }
    }

    private static long callerRanAll;
    /// <summary>
    /// Jobs of two or more chunks whose caller ran every chunk (no worker had started: the op ran at
    /// one core's speed), since the process started; benches report it beside their timings.
    /// </summary>
    internal static long JobsCallerRanAlone => Volatile.Read(ref callerRanAll);

    /// <summary>One wait between looks: a bare pause until fastUntil, then SpinWait's backoff and yields.</summary>
    private static void Pause(ref SpinWait spin, long fastUntil)
    {
        if (Stopwatch.GetTimestamp() < fastUntil) Thread.SpinWait(1);
        else spin.SpinOnce(sleep1Threshold: -1);
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
        private readonly ManualResetEventSlim wake = new(false);
        private readonly int index;   // 1-based: the k-th CPU other than the caller's it is pinned to is index − 1
        private int jobs;      // jobs given to this worker (written by the caller)
        private int sleeping;  // 1 while blocked on `wake`
        private volatile int threadId = -1;   // the kernel's id of this worker's thread, once it runs
        public int ThreadId => threadId;
        public bool Sleeping => Volatile.Read(ref sleeping) == 1;

        public Worker(WorkerTeam team, int index)
        {
            this.team = team; this.index = index;
            new Thread(Loop) { IsBackground = true, Name = $"lethe-worker-{index}" }.Start();
        }

        public void Start()
        {
            Interlocked.Increment(ref jobs);
            if (Interlocked.CompareExchange(ref sleeping, 0, 0) == 1)
            {
                // Its wake-up costs milliseconds anyway: pin it off this thread's CPU first, so that it
                // wakes on another core instead of sharing this one (see ThreadPlacement).
                if (ThreadPlacement.Enabled) ThreadPlacement.PinAwayFrom(threadId, index - 1, ThreadPlacement.CurrentCpu());
                wake.Set();
            }
        }

        private void Loop()
        {
            threadId = ThreadPlacement.CurrentThreadId();
            int done = 0;
            while (true)
            {
                if (!WaitForJob(done)) continue;
                done++;
                team.TakeChunks();
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
                Pause(ref spin, fastUntil);
            }
            return true;
        }
    }
}
