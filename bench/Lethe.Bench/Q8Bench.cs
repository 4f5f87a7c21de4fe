// `q8` suite: the decode products alone (one row of activations, M = 1) on the SmolLM-135M shapes,
// bf16 weights (Gemm's GEMV path) against q8_0 weights (Q8Gemm), one kernel thread, alternating
// per repetition in this thread's CPU time so that other processes on the cores hit both alike.
// Each shape's weights are replicated (copies read in turn) until the bf16 ones fill --stream-mb
// (default 384 MB), far past the last-level cache, so the products stream from memory as in a real
// decode. Prints per shape the median GB/s of weights read and the q8_0 / bf16 speed ratio; the
// ceiling of a memory-bound product's ratio is the ratio of bytes read per weight (2 against
// 34 / 32). Each GB/s is also given as a share of this machine's read bandwidth with one thread
// (ReadBandwidth), the ceiling of a streamed product's GB/s.
// --resident: the shipped model's shapes instead, one copy each, so the weights stay in the caches
// and the products are bound by the kernels' instructions rather than by memory (the case where the
// shipped model's q8_0 decoding gains least). There the q8_0 matrices keep their scales in fp32, as
// the shipped model's do when loaded (Q8Matrix.KeepScalesWidened); --scales fp16|fp32 sets it either way.
// --rows M: M rows of activations per product (a prompt's prefill) instead of 1; fewer calls per
// timing, so that each takes about as long as at M = 1. GB/s then counts each weight read once per product.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Bench;

public static unsafe class Q8Bench
{
    /// <summary>--prefetch BYTES: how far ahead the int8 kernel prefetches W (0 = not at all), to tune it per CPU.</summary>
    public static void ApplyPrefetch(string? prefetch)
    {
        if (prefetch is not null)
            Q8Gemm.PrefetchBytes = int.TryParse(prefetch, out int bytes) && bytes >= 0 ? bytes : throw new LetheException($"bench: --prefetch needs a number of bytes (0 = no prefetch), got '{prefetch}'");
    }

    /// <summary>
    /// --dot avx2: the AVX2 integer dot product on a CPU that has a wider one, to compare them;
    /// --dot avx512: the 512-bit chunks on a CPU that also has AVX-VNNI (which it would use);
    /// --dot vector128: ARM64's 128-bit loop (Q8Gemm128) in its x86 form; --dot scalar: the scalar loop.
    /// </summary>
    public static void ApplyDot(string? dot)
    {
        if (dot is not (null or "avx2" or "avx512" or "vector128" or "scalar"))
            throw new LetheException($"bench: --dot is avx2, avx512, vector128 or scalar, got '{dot}'");
        Q8Gemm.ForceAvx2 = dot == "avx2";
        Q8Gemm.ForceWide = dot == "avx512";
        Q8Gemm.Force128 = dot == "vector128";
        Q8Gemm.ForceScalar = dot == "scalar";
    }

    public static int Run(string[] args)
    {
        var o = new BenchOptions(args);
        int reps = o.Int("reps", 15);
        ApplyPrefetch(o.Get("prefetch"));
        ApplyDot(o.Get("dot"));
        Engine.Threads = 1;
        bool resident = o.Has("resident");
        bool? wideScales = o.Get("scales") switch
        {
            null => null, "fp32" => true, "fp16" => false,
            var other => throw new LetheException($"bench q8: --scales takes fp16 (widened at every product) or fp32 (kept widened), got '{other}'"),
        };
        var shapes = resident
            ? new (string Name, int N, int K)[] { ("q|o 256->256", 256, 256), ("k|v 256->128", 128, 256), ("gate|up 256->704", 704, 256), ("down 704->256", 256, 704), ("head 256->4096", 4096, 256) }
            : new (string Name, int N, int K)[] { ("q|o 576->576", 576, 576), ("k|v 576->192", 192, 576), ("gate|up 576->1536", 1536, 576), ("down 1536->576", 576, 1536), ("head 576->49152", 49152, 576) };
        var rng = new Rng(3);
        int M = o.Int("rows", 1);
        if (M < 1) throw new LetheException($"bench q8: --rows needs a positive number of activation rows, got {M}");
        int streamMb = o.Int("stream-mb", 384);
        if (streamMb < 1) throw new LetheException($"bench q8: --stream-mb needs a positive number of megabytes, got {streamMb}");
        // Streamed from memory, a product goes no faster than memory reads: this machine's read
        // bandwidth (one thread, as the products run here), taken just before each shape, is printed beside it.
        using var readBuffer = resident ? null : new ReadBandwidth.Buffer();
        foreach (var (name, N, K) in shapes)
        {
            long bf16Bytes = 2L * N * K;
            // Copies of the weights read in turn until the bf16 ones fill --stream-mb (default 384 MB,
            // the q8_0 ones about half): with 96 MB, a 32 MB L3 still held part of the q8_0 copies
            // (the head, 30 MB in q8_0, read 33 GB/s against 22.5 at 384 MB, and the q8_0 / bf16
            // ratio of that shape was 2.78 against 1.87). The copies hold the same values.
            int copies = resident ? 1 : (int)Math.Max(1, Math.Min(8192, ((long)streamMb << 20) / bf16Bytes));
            var bf = new Tensor[copies]; var q8 = new Q8Matrix[copies];
            var v = new float[N * K];
            for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1) * 0.05f;
            using (var f32 = Tensor.FromArray(v, N, K))
                for (int c = 0; c < copies; c++)
                {
                    bf[c] = f32.Clone(DType.BF16);
                    q8[c] = Q8Matrix.FromF32(v, N, K);
                    // As a model loads them: the shipped model fits in the L3 and keeps its scales in
                    // fp32 (Q8Matrix.KeepScalesWidened), a streamed one does not (--scales fp16|fp32 overrides).
                    if (wideScales ?? resident) q8[c].KeepScalesWidened();
                }
            double? readGbs = readBuffer?.Best(threads: 1, passes: 3);
            var x = new float[(long)M * K]; for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
            var y = new float[(long)M * N];
            int calls = Math.Max(M > 1 ? 1 : copies, (int)((400L << 20) / bf16Bytes) / M); // ≈ 400 MB of bf16 per timing at M = 1
            double Time(bool quant)
            {
                long t0 = GemmProfile.ThreadNs();
                fixed (float* xp = x, yp = y)
                    for (int i = 0; i < calls; i++)
                    {
                        int c = i % copies;
                        if (quant) Q8Gemm.Multiply(M, xp, K, q8[c], yp, N, false);
                        else Gemm.Multiply(false, true, M, N, K, xp, K, bf[c].BytePtr, DType.BF16, K, yp, N, false);
                    }
                return (GemmProfile.ThreadNs() - t0) * 1e-9 / calls;
            }
            Time(false); Time(true);
            var tb = new List<double>(); var tq = new List<double>(); var ratio = new List<double>();
            for (int r = 0; r < reps; r++)
            {
                double b, q;
                if (r % 2 == 0) { b = Time(false); q = Time(true); } else { q = Time(true); b = Time(false); }
                tb.Add(b); tq.Add(q); ratio.Add(b / q);
            }
            double Median(List<double> l) { l.Sort(); return l[l.Count / 2]; }
            double mb = Median(tb), mq = Median(tq);
            double bf16Gbs = bf16Bytes / mb * 1e-9, q8Gbs = N * (K / 32) * 34.0 / mq * 1e-9;
            JsonLine.Print(("bench", "q8"), ("case", name), ("rows", M), ("bf16_gb_s", Math.Round(bf16Gbs, 2)), ("q8_0_gb_s", Math.Round(q8Gbs, 2)), ("bf16_us", Math.Round(mb * 1e6, 1)), ("q8_0_us", Math.Round(mq * 1e6, 1)),
                ("q8_0_vs_bf16", Math.Round(Median(ratio), 2)), ("read_gb_s", readGbs is null ? null : Math.Round(readGbs.Value, 1)),
                ("bf16_of_read", readGbs is null ? null : Math.Round(bf16Gbs / readGbs.Value, 2)), ("q8_0_of_read", readGbs is null ? null : Math.Round(q8Gbs / readGbs.Value, 2)), ("copies", copies), ("weights", resident ? "cache-resident" : "streamed from memory"), ("scales", q8[0].ScalesWidened ? "fp32 (kept)" : "fp16 (widened per product)"), ("clock", "thread CPU time, 1 thread"), ("dot", Q8Gemm.DotKind), ("cpu", Machine.CpuModel()));
            foreach (var t in bf) t.Dispose();
            foreach (var m in q8) m.Dispose();
        }
        return 0;
    }
}
