// `q8-layout` suite: why Q8Matrix stores a chunk's 4 rows in slices of 32 bytes. Three ways of
// reading a group's int8 values, timed in one process on synthetic Q8_0 data (both layouts hold the
// same values, so every way gives the same sums, checked): one row after another on the layout where
// each row's 256 bytes of a chunk lie whole (Q8Matrix and Q8Gemm until 2026-12-05); the 4 rows
// together on that layout (4 interleaved streams: faster in cache, slower from memory); the 4 rows
// together on the sliced layout (Q8Matrix's now: one stream); and one row after another on the
// sliced layout (each row's slices 128 bytes apart). The float work per chunk is
// Q8Gemm's. Weights in L2, in L3 and streamed from memory; µs per product (median of the rounds,
// alternated), one thread. AVX-512 where the CPU has it, else AVX2, as Q8Gemm chooses.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.InteropServices;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Bench;

public static unsafe class Q8LayoutBench
{
    private const int Chunk = 256, Rows = 4, Slice = 32;

    public static int Run(string[] args)
    {
        var o = new BenchOptions(args);
        int rounds = o.Int("reps", 9);
        if (!Avx2.IsSupported) throw new LetheException("bench q8-layout: needs AVX2 (the scalar int8 path reads no chunks)");
        bool wide = Avx512BW.IsSupported;
        // (rows N, K, copies): one copy of 704 × 256 fits L2; 7 copies of 4096 × 256 (7.8 MB) stay in L3 as the
        // shipped model's weights do while it decodes; 300 copies (334 MB) come from memory.
        foreach (var (n, k, copies, where) in new[] { (704, 256, 1, "L2"), (4096, 256, 7, "L3"), (4096, 256, 300, "memory"), (1536, 512, 200, "memory") })
        {
            var data = new Data(n, k, copies, new Random(5));
            try
            {
                var ways = new (string Name, Action<int> Product)[]
                {
                    ("rows one after another, rows whole (before)", c => data.Multiply<Whole>(c, together: false, wide)),
                    ("4 rows together, rows whole", c => data.Multiply<Whole>(c, together: true, wide)),
                    ("4 rows together, slices (Q8Matrix)", c => data.Multiply<Sliced>(c, together: true, wide)),
                    ("rows one after another, slices", c => data.Multiply<Sliced>(c, together: false, wide)),
                };
                var sums = new List<float[]>();
                foreach (var way in ways) { way.Product(0); sums.Add(data.Output()); }
                bool same = sums.All(s => s.AsSpan().SequenceEqual(sums[0]));
                int calls = (int)Math.Max(copies * 2L, 2_000_000_000L / data.Bytes / 8);
                var times = ways.Select(_ => new List<double>()).ToArray();
                for (int r = 0; r < rounds; r++)
                    for (int i = 0; i < ways.Length; i++)
                    {
                        int w = (i + r) % ways.Length;
                        for (int c = 0; c < copies; c++) ways[w].Product(c);
                        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                        for (int c = 0; c < calls; c++) ways[w].Product(c % copies);
                        times[w].Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls);
                    }
                var medians = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
                for (int i = 0; i < ways.Length; i++)
                {
                    double us = medians[i];
                    JsonLine.Print(("bench", "q8-layout"), ("case", $"{n}x{k} in {where}"), ("way", ways[i].Name), ("us", Math.Round(us, 2)),
                        ("gb_s", Math.Round(data.Bytes / us * 1e-3, 1)), ("vs_before", Math.Round(medians[0] / us, 3)),
                        ("same_sums", same), ("mb", Math.Round(data.Bytes * (double)copies / 1e6, 1)), ("dot", wide ? "AVX-512" : "AVX2"),
                        ("clock", "wall clock, 1 thread"), ("cpu", Machine.CpuModel()));
                }
            }
            finally { data.Dispose(); }
        }
        return 0;
    }

    /// <summary>Where row r's slice s of a chunk lies, from the chunk's start.</summary>
    private interface ILayout { static abstract int Offset(int r, int s); }
    private struct Whole : ILayout { public static int Offset(int r, int s) => r * Chunk + s * Slice; }
    private struct Sliced : ILayout { public static int Offset(int r, int s) => s * Rows * Slice + r * Slice; }

    /// <summary>Copies of one Q8_0-like matrix (groups of 4 rows: fp16 scales, then K bytes a row) in both layouts.</summary>
    private sealed class Data : IDisposable
    {
        private readonly int n, k, nb, header, groups;
        private readonly long groupBytes;
        private readonly byte*[] whole, sliced;
        private readonly short* qa;
        private readonly float* sa, sw, y;
        public long Bytes => groups * groupBytes;

        public Data(int n, int k, int copies, Random rng)
        {
            this.n = n; this.k = k; nb = k / 32; groups = n / Rows;
            header = (Rows * 2 * nb + 31) / 32 * 32; groupBytes = header + (long)Rows * k;
            whole = new byte*[copies]; sliced = new byte*[copies];
            for (int c = 0; c < copies; c++)
            {
                whole[c] = (byte*)NativeMemory.AlignedAlloc((nuint)Bytes, 64); sliced[c] = (byte*)NativeMemory.AlignedAlloc((nuint)Bytes, 64);
                for (int g = 0; g < groups; g++)
                {
                    byte* a = whole[c] + g * groupBytes, b = sliced[c] + g * groupBytes;
                    for (int i = 0; i < header / 2; i++) ((ushort*)a)[i] = ((ushort*)b)[i] = (ushort)(0x2000 + rng.Next(0x1000)); // small positive fp16 scales
                    for (int chunk = 0; chunk < k / Chunk; chunk++)
                        for (int r = 0; r < Rows; r++)
                            for (int t = 0; t < Chunk; t++)
                            {
                                sbyte v = (sbyte)(rng.Next(255) - 127);
                                ((sbyte*)(a + header))[chunk * Rows * Chunk + Whole.Offset(r, t / Slice) + t % Slice] = v;
                                ((sbyte*)(b + header))[chunk * Rows * Chunk + Sliced.Offset(r, t / Slice) + t % Slice] = v;
                            }
                }
            }
            qa = (short*)NativeMemory.AlignedAlloc((nuint)k * 2, 64);
            for (int i = 0; i < k; i++) qa[i] = (short)(rng.Next(65535) - 32767);
            sa = (float*)NativeMemory.AlignedAlloc((nuint)nb * 4 + 64, 64);
            for (int i = 0; i < nb; i++) sa[i] = (float)rng.NextDouble();
            sw = (float*)NativeMemory.AlignedAlloc((nuint)header * 2 + 64, 64);
            y = (float*)NativeMemory.AlignedAlloc((nuint)n * 4, 64);
        }

        public float[] Output() => new ReadOnlySpan<float>(y, n).ToArray();

        /// <summary>y = W · x for copy c (only the whole chunks of K: the shapes here have no others).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Multiply<TL>(int c, bool together, bool wide) where TL : struct, ILayout
        {
            byte* data = typeof(TL) == typeof(Sliced) ? sliced[c] : whole[c];
            for (int g = 0; g < groups; g++)
            {
                byte* group = data + g * groupBytes;
                Q8Gemm.WidenScales((ushort*)group, sw, header / 2);
                sbyte* w = (sbyte*)(group + header);
                Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
                for (int b = 0; b < nb; b += 8, w += Rows * Chunk)
                {
                    Vector256<int> s0, s1, s2, s3;
                    short* x = qa + b * 32;
                    if (wide && together) Together512<TL>(w, x, out s0, out s1, out s2, out s3);
                    else if (wide) { s0 = Row512<TL>(w, 0, x); s1 = Row512<TL>(w, 1, x); s2 = Row512<TL>(w, 2, x); s3 = Row512<TL>(w, 3, x); }
                    else if (together) Together256<TL>(w, x, out s0, out s1, out s2, out s3);
                    else { s0 = Row256<TL>(w, 0, x); s1 = Row256<TL>(w, 1, x); s2 = Row256<TL>(w, 2, x); s3 = Row256<TL>(w, 3, x); }
                    var sx = Vector256.Load(sa + b);
                    acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s0), sx * Vector256.Load(sw + b), acc0);
                    acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s1), sx * Vector256.Load(sw + nb + b), acc1);
                    acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s2), sx * Vector256.Load(sw + 2 * nb + b), acc2);
                    acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s3), sx * Vector256.Load(sw + 3 * nb + b), acc3);
                }
                var h = Avx.HorizontalAdd(Avx.HorizontalAdd(acc0, acc1), Avx.HorizontalAdd(acc2, acc3));
                (h.GetLower() + h.GetUpper()).Store(y + g * Rows);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<int> Madd512(sbyte* w, Vector512<short> x) => Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w)), x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Half(Vector512<int> s) => s.GetLower() + s.GetUpper();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Row512<TL>(sbyte* w, int r, short* x) where TL : struct, ILayout
        {
            var s = Madd512(w + TL.Offset(r, 0), Vector512.Load(x));
            for (int i = 1; i < Chunk / Slice; i++) s += Madd512(w + TL.Offset(r, i), Vector512.Load(x + i * Slice));
            return Half(s);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Together512<TL>(sbyte* w, short* x, out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2, out Vector256<int> r3) where TL : struct, ILayout
        {
            var a = Vector512.Load(x);
            Vector512<int> s0 = Madd512(w + TL.Offset(0, 0), a), s1 = Madd512(w + TL.Offset(1, 0), a), s2 = Madd512(w + TL.Offset(2, 0), a), s3 = Madd512(w + TL.Offset(3, 0), a);
            for (int i = 1; i < Chunk / Slice; i++)
            {
                a = Vector512.Load(x + i * Slice);
                s0 += Madd512(w + TL.Offset(0, i), a); s1 += Madd512(w + TL.Offset(1, i), a);
                s2 += Madd512(w + TL.Offset(2, i), a); s3 += Madd512(w + TL.Offset(3, i), a);
            }
            r0 = Half(s0); r1 = Half(s1); r2 = Half(s2); r3 = Half(s3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Madd256(sbyte* w, Vector256<short> x0, Vector256<short> x1) =>
            Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w), x0) + Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w + 16), x1);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Row256<TL>(sbyte* w, int r, short* x) where TL : struct, ILayout
        {
            var s = Madd256(w + TL.Offset(r, 0), Vector256.Load(x), Vector256.Load(x + 16));
            for (int i = 1; i < Chunk / Slice; i++) s += Madd256(w + TL.Offset(r, i), Vector256.Load(x + i * Slice), Vector256.Load(x + i * Slice + 16));
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Together256<TL>(sbyte* w, short* x, out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2, out Vector256<int> r3) where TL : struct, ILayout
        {
            Vector256<short> x0 = Vector256.Load(x), x1 = Vector256.Load(x + 16);
            Vector256<int> s0 = Madd256(w + TL.Offset(0, 0), x0, x1), s1 = Madd256(w + TL.Offset(1, 0), x0, x1);
            Vector256<int> s2 = Madd256(w + TL.Offset(2, 0), x0, x1), s3 = Madd256(w + TL.Offset(3, 0), x0, x1);
            for (int i = 1; i < Chunk / Slice; i++)
            {
                x0 = Vector256.Load(x + i * Slice); x1 = Vector256.Load(x + i * Slice + 16);
                s0 += Madd256(w + TL.Offset(0, i), x0, x1); s1 += Madd256(w + TL.Offset(1, i), x0, x1);
                s2 += Madd256(w + TL.Offset(2, i), x0, x1); s3 += Madd256(w + TL.Offset(3, i), x0, x1);
            }
            r0 = s0; r1 = s1; r2 = s2; r3 = s3;
        }

        public void Dispose()
        {
            foreach (var p in whole) NativeMemory.AlignedFree(p);
            foreach (var p in sliced) NativeMemory.AlignedFree(p);
            NativeMemory.AlignedFree(qa); NativeMemory.AlignedFree(sa); NativeMemory.AlignedFree(sw); NativeMemory.AlignedFree(y);
        }
    }
}
