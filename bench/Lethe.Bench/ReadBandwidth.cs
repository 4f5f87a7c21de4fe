// `bandwidth` suite, and the figure other suites hold memory-bound work against: how fast this
// machine reads memory, in GB/s, with one thread and with every core. Decoding a model whose
// weights do not fit in the caches reads every weight once per token, so a product's GB/s of
// weights read divided by this is how close it comes to the hardware's ceiling, on any CPU (a
// ratio taken in one run, as docs/performance.md asks, with the machine as the peer).
// The buffer (512 MB) is far past any last-level cache; each thread reads its own contiguous part
// with the widest vector loads the CPU has, summing them so the loads cannot be skipped; the best
// of several passes is kept (the machine's ability, as STREAM reports it), with the median beside it.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Lethe.Tensors;

namespace Lethe.Bench;

internal static unsafe class ReadBandwidth
{
    /// <summary>Where the sums go, so that the reads are not optimized away.</summary>
    private static long sink;

    /// <summary>
    /// `bench bandwidth [--threads N] [--passes P] [--mb M]`: the read bandwidth with 1 thread and
    /// with N (default: every core). With more than one thread the host's placement of the cores
    /// changes it (two CCDs bring two paths to memory), so every pass is taken between two round
    /// trips (CoreDistance) and the figures are printed per placement.
    /// </summary>
    public static int Run(string[] args)
    {
        var o = new BenchOptions(args);
        int passes = o.Int("passes", 15), mb = o.Int("mb", 512), threads = o.Int("threads", Environment.ProcessorCount);
        if (passes < 1 || mb < 64 || threads < 1)
            throw new LetheException($"bench bandwidth: --passes ≥ 1, --mb ≥ 64 (past the caches) and --threads ≥ 1, got {passes}, {mb}, {threads}");
        using var buffer = new Buffer((long)mb << 20);
        foreach (int t in new[] { 1, threads }.Distinct())
        {
            var byPlacement = new SortedDictionary<string, List<double>>();
            double before = t > 1 ? CoreDistance.RoundTripNs() : double.NaN;
            for (int pass = 0; pass < passes; pass++)
            {
                double gbs = buffer.Pass(t), after = t > 1 ? CoreDistance.RoundTripNs() : double.NaN;
                string placement = t > 1 ? CoreDistance.Placement(before, after) : "one thread";
                (byPlacement.TryGetValue(placement, out var list) ? list : byPlacement[placement] = new List<double>()).Add(gbs);
                before = after;
            }
            foreach (var (placement, list) in byPlacement)
            {
                list.Sort();
                JsonLine.Print(("bench", "bandwidth"), ("case", "read"), ("threads", t), ("placement", placement), ("read_gb_s", Math.Round(list[^1], 1)),
                    ("median_gb_s", Math.Round(list[list.Count / 2], 1)), ("passes", list.Count), ("buffer_mb", mb),
                    ("vector_bits", Vector512.IsHardwareAccelerated ? 512 : 256), ("cpu", Machine.CpuModel()));
            }
        }
        return 0;
    }

    /// <summary>A buffer far past the caches, written once so that every page is mapped before it is timed.</summary>
    internal sealed class Buffer : IDisposable
    {
        private const int Unroll = 256;   // bytes per loop step of Sum: 4 loads of 64 or 8 of 32
        private readonly byte* data;
        private readonly long bytes;

        public Buffer(long bytes = 512L << 20)
        {
            this.bytes = bytes - bytes % (64L * Unroll);
            // On 2 MB pages where Linux gives them, as the engine's weights are (LargePages): with
            // 4 KB pages this loop read about 25 GB/s on the Zen 4 VM, below the int8 products' 30.
            data = Lethe.Tensors.LargePages.Alloc(this.bytes, pooled: false, zero: false);
            for (long at = 0; at < this.bytes; at += 1 << 30)
                new Span<byte>(data + at, (int)Math.Min(1 << 30, this.bytes - at)).Fill(1);
        }

        /// <summary>
        /// GB/s (10⁹ bytes per second) of `threads` threads reading the buffer together, each its
        /// own contiguous share (this thread the first). The other threads are started and waiting
        /// before the clock starts, so their start-up is not timed.
        /// </summary>
        public double Pass(int threads)
        {
            long share = bytes / threads;
            share -= share % Unroll;
            int go = 0, done = 0;
            long checksum = 0;
            // threads − 1 workers and this thread (so no thread waits on a core the readers need).
            var workers = new Thread[threads - 1];
            for (int t = 1; t < threads; t++)
            {
                byte* start = data + t * share;
                workers[t - 1] = new Thread(() =>
                {
                    while (Volatile.Read(ref go) == 0) Thread.SpinWait(1);
                    Interlocked.Add(ref checksum, Sum(start, share));
                    Interlocked.Increment(ref done);
                }) { IsBackground = true };
                workers[t - 1].Start();
            }
            Thread.Sleep(20);   // every worker at its spin before the clock starts
            var clock = Stopwatch.StartNew();
            Volatile.Write(ref go, 1);
            Interlocked.Add(ref checksum, Sum(data, share));
            while (Volatile.Read(ref done) < threads - 1) Thread.SpinWait(1);
            double seconds = clock.Elapsed.TotalSeconds;
            foreach (var w in workers) w.Join();
            sink = checksum;
            return share * threads / seconds / 1e9;
        }

        /// <summary>The best of `passes` passes of `threads` threads, in GB/s.</summary>
        public double Best(int threads, int passes)
        {
            double best = 0;
            for (int pass = 0; pass < passes; pass++) best = Math.Max(best, Pass(threads));
            return best;
        }

        public void Dispose() => Lethe.Tensors.LargePages.Free(data, bytes, pooled: false);
    }

    /// <summary>The bytes' sum in 32-bit lanes (a value that depends on every load), read front to back.</summary>
    private static long Sum(byte* p, long n)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<int> a = default, b = default, c = default, d = default;
            for (long i = 0; i < n; i += 256)
            {
                a += Vector512.Load((int*)(p + i)); b += Vector512.Load((int*)(p + i + 64));
                c += Vector512.Load((int*)(p + i + 128)); d += Vector512.Load((int*)(p + i + 192));
            }
            return Vector512.Sum(a + b + c + d);
        }
        Vector256<int> e = default, f = default, g = default, h = default;
        for (long i = 0; i < n; i += 128)
        {
            e += Vector256.Load((int*)(p + i)); f += Vector256.Load((int*)(p + i + 32));
            g += Vector256.Load((int*)(p + i + 64)); h += Vector256.Load((int*)(p + i + 96));
        }
        return Vector256.Sum(e + f + g + h);
    }
}
