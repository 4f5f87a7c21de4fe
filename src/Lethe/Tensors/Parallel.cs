// Work splitting for kernels. Ranges are cut into a fixed number of contiguous chunks that depend
// only on the problem size and the thread setting, and every output element is written by exactly
// one chunk in a fixed order, so parallel results are bit-identical from run to run.
namespace Lethe.Tensors;

public static class Engine
{
    private static int threads = Environment.ProcessorCount;
    /// <summary>The calling thread's own limit (Limit), 0 for none.</summary>
    [ThreadStatic] private static int limit;

    /// <summary>
    /// Threads kernels may use (the CLI's --threads; default all cores), or fewer on a thread that
    /// runs under Limit.
    /// </summary>
    public static int Threads
    {
        get => limit > 0 && limit < threads ? limit : threads;
        set => threads = value < 1 ? throw LetheException.About($"threads must be at least 1, got {value}", "threads") : value;
    }

    /// <summary>
    /// Until the returned scope is disposed, ops called from this thread use at most n threads (the
    /// setting of other threads is untouched; a limit inside another keeps the smaller of the two). Decoding uses it to run a step on one core when that
    /// is faster (Models.Generation.DecodeWidth); results do not change, since every kernel gives the
    /// same bits for any thread count.
    /// </summary>
    internal static ThreadLimit Limit(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "a thread limit is at least 1");
        int before = limit;
        limit = before > 0 ? Math.Min(before, n) : n;
        return new ThreadLimit(before);
    }

    /// <summary>Restores the calling thread's previous limit when disposed.</summary>
    internal readonly struct ThreadLimit : IDisposable
    {
        private readonly int before;
        internal ThreadLimit(int before) => this.before = before;
        public void Dispose() => limit = before;
    }

    /// <summary>
    /// Runs body(start, end) over [0, n) in at most Threads chunks, each at least minChunk long.
    /// Runs inline when one chunk suffices (no task overhead for small work).
    /// </summary>
    public static void For(int n, int minChunk, Action<int, int> body)
    {
        if (n <= 0) return;
        int chunks = Math.Min(Threads, Math.Max(1, n / Math.Max(1, minChunk)));
        if (chunks <= 1) { body(0, n); return; }
        if (chunks - 1 <= Team.Size && Team.TryRun(n, chunks, body)) return;
        Interlocked.Increment(ref poolJobs);
        // The team is busy (another thread's op, or a nested For): the thread pool runs the same chunks.
        // A chunk's exception reaches the caller as itself (the first one), as it does from the team.
        try
        {
            System.Threading.Tasks.Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
            {
                int start = (int)((long)n * c / chunks), end = (int)((long)n * (c + 1) / chunks);
                if (end > start) body(start, end);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    private static long poolJobs;
    /// <summary>Parallel jobs the team could not take (busy: another thread's op, or a nested For), run by the thread pool instead; benches report it.</summary>
    internal static long JobsOnThreadPool => Volatile.Read(ref poolJobs);
    /// <summary>Parallel jobs whose calling thread ran every chunk itself (WorkerTeam.JobsCallerRanAlone).</summary>
    internal static long JobsCallerRanAlone => WorkerTeam.JobsCallerRanAlone;

    private static WorkerTeam? team;
    /// <summary>Workers for all cores but the caller's, started on first use.</summary>
    private static WorkerTeam Team => team ??= CreateTeam();
    private static WorkerTeam CreateTeam()
    {
        var t = new WorkerTeam(Math.Max(0, Environment.ProcessorCount - 1));
        return Interlocked.CompareExchange(ref team, t, null) ?? t;
    }
}
