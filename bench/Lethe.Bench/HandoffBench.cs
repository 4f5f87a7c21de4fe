// Suite `handoff`: what a short Engine.For job costs on two cores, and what moving data between
// the cores adds to it: the shape of a decoding step's products. Each job is two chunks of
// `--work-us` of busy work (default 2); before it the caller writes `in` floats that both chunks
// read (the activations), and in it each chunk writes its half of `out` floats that the caller
// reads after the job (the product's results); `--gap-us` of serial work (default 0.5) separates
// the jobs. Reads and writes are whole vectors, as the kernels' are. Per case it prints the job's
// median time (and p10, p90), when the worker started its chunk, and the share of jobs whose two
// chunks both ran on the caller (the worker was late), tagged with the cores' placement
// (CoreDistance before and after the case). Cases alternate in each round, so the host's changes
// reach all alike. The one-thread rows are the same jobs with Engine.Threads = 1 (both chunks'
// work in one call): the time the split has to beat.
using System.Diagnostics;
using System.Numerics;
using Lethe.Tensors;

namespace Lethe.Bench;

public static class HandoffBench
{
    public static int Run(string[] args)
    {
        var options = new BenchOptions(args);
        int jobs = options.Int("jobs", 10000), rounds = options.Int("rounds", 3);
        double workUs = options.Double("work-us", 2), gapUs = options.Double("gap-us", 0.5);
        var cases = new (int In, int Out)[] { (0, 0), (64, 0), (256, 0), (0, 128), (0, 256), (256, 256) };
        int keep = Engine.Threads;
        try
        {
            var harness = new Harness(jobs, workUs, gapUs, 256);
            foreach (int threads in new[] { 1, 2 })
            {
                Engine.Threads = threads;
                harness.Run(0, 0); // JIT and the worker's start
                for (int round = 0; round < rounds; round++)
                    foreach (var (nin, nout) in cases)
                    {
                        double before = threads > 1 ? CoreDistance.RoundTripNs() : double.NaN;
                        var r = harness.Run(nin, nout);
                        string placement = threads > 1 ? CoreDistance.Placement(before, CoreDistance.RoundTripNs()) : "one thread";
                        JsonLine.Print(("bench", "handoff"), ("threads", threads), ("round", round), ("in_floats", nin), ("out_floats", nout),
                            ("work_us_per_chunk", workUs), ("job_us_p50", r.P50), ("p10", r.P10), ("p90", r.P90),
                            ("worker_start_us_p50", threads > 1 ? r.WorkerStart : null), ("caller_ran_both_percent", threads > 1 ? r.CallerRanBoth : null),
                            ("placement", placement), ("cpu", Machine.CpuModel()));
                    }
            }
        }
        finally { Engine.Threads = keep; }
        return 0;
    }

    private sealed class Harness(int jobs, double workUs, double gapUs, int maxFloats)
    {
        private readonly float[] input = GC.AllocateArray<float>(maxFloats, pinned: true), output = GC.AllocateArray<float>(maxFloats, pinned: true);
        private readonly long[] start = new long[jobs], end = new long[jobs], workerStart = new long[jobs];
        private readonly int[] callerChunks = new int[jobs];
        private readonly long workTicks = (long)(workUs * Stopwatch.Frequency / 1e6), gapTicks = (long)(gapUs * Stopwatch.Frequency / 1e6);
        private float sink; // the caller's sums of the outputs go here, so that their reads are not dropped

        public (double P10, double P50, double P90, double WorkerStart, double CallerRanBoth) Run(int nin, int nout)
        {
            int caller = Environment.CurrentManagedThreadId;
            for (int j = 0; j < jobs; j++)
            {
                Busy(gapTicks);
                for (int i = 0; i < nin; i++) input[i] = i + j;
                callerChunks[j] = 0;
                start[j] = Stopwatch.GetTimestamp();
                int job = j;
                Engine.For(2, 1, (c0, c1) =>
                {
                    // Which chunk the worker takes is not fixed (the first thread to look takes chunk 0).
                    if (Environment.CurrentManagedThreadId == caller) callerChunks[job] += c1 - c0;
                    else workerStart[job] = Stopwatch.GetTimestamp();
                    float acc = Sum(input, nin);
                    var half = output.AsSpan(nout * c0 / 2, nout * c1 / 2 - nout * c0 / 2);
                    var values = new Vector<float>(acc);
                    var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(half);
                    for (int i = 0; i < vectors.Length; i++) vectors[i] = values;
                    Busy(workTicks * (c1 - c0)); // one thread runs both chunks as one
                });
                sink += Sum(output, nout);
                end[j] = Stopwatch.GetTimestamp();
            }
            // The first tenth is left out: the tiered JIT and the caches settle there.
            var times = new List<double>();
            var starts = new List<double>();
            int ranBoth = 0;
            for (int j = jobs / 10; j < jobs; j++)
            {
                times.Add(Us(end[j] - start[j]));
                if (callerChunks[j] == 2) ranBoth++; else starts.Add(Us(workerStart[j] - start[j]));
            }
            double At(List<double> l, double q) => Math.Round(Timing.Percentile(l, q), 2);
            return (At(times, 0.1), At(times, 0.5), At(times, 0.9), At(starts, 0.5), Math.Round(100.0 * ranBoth / (jobs - jobs / 10), 1));
        }

        /// <summary>A sum of the first n floats in whole vectors (two sums, so that loads overlap).</summary>
        private static float Sum(float[] values, int n)
        {
            var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(values.AsSpan(0, n));
            Vector<float> a = Vector<float>.Zero, b = Vector<float>.Zero;
            int i = 0;
            for (; i + 1 < vectors.Length; i += 2) { a += vectors[i]; b += vectors[i + 1]; }
            if (i < vectors.Length) a += vectors[i];
            return Vector.Sum(a + b);
        }

        private static void Busy(long ticks)
        {
            long until = Stopwatch.GetTimestamp() + ticks;
            while (Stopwatch.GetTimestamp() < until) { }
        }

        private static double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
    }
}
