// C[M, N] (+)= A[M, K] · Wᵀ for a Q8_0 weight W [N, K] (Q8Matrix): the Linear forward with int8
// weights, for memory-bound decoding (each token reads every weight once: 1.06 bytes per weight
// instead of 2 for bf16).
//   1. Each row of A is quantized per block of 32, like the weights but to int16: one scale
//      sa = max|x| / 32767, kept in fp32, and 32 int16 values, into per-call scratch.
//   2. For every block b, the 32 products qa·qw are summed exactly in int32, then
//      acc += float(Σ qa·qw) · (sa · sw) in fp32; C is the sum of acc's lanes.
//   In Q8Matrix's chunks of 8 blocks the values are interleaved by pairs, and the activations are
//   put in the same order (InterleaveChunks), so each VPMADDWD's lane k holds a pair of block k:
//   plain int32 adds give the 8 blocks' sums in one vector, and one convert, one multiply of the 8
//   scale pairs and one FMA scale them (lane k of acc then sums blocks k, k + 8, …). One block at a
//   time, the float work (a convert, a scalar multiply, a broadcast and an FMA per block and row)
//   was almost as many instructions as the integer work, which bounds the product when the weights
//   sit in cache (the shipped model): `bench q8 --resident` went from 1.09–1.48× bf16 to 1.58–1.97×.
//   The blocks after the last whole chunk (K mod 256) go in runs of 4 and 2 interleaved the same
//   way (lane k holds block k mod 4 or k mod 2), so they too take one scale multiply a run; only a
//   last block alone is done by itself (until 2026-12-07 all of them were, and the shipped model's
//   down product, 22 blocks a row, took 4.4 µs in cache instead of 3.9).
// Why int16 activations and not int8 (ggml's Q8_0 × Q8_0): on the shipped model's full test splits,
// int8 activations moved comprehension.hi by −1.5 points and general MC (cloze) by +1.8, while int16
// ones give the same task scores as exact fp32 activations (docs/engine-int8.md). Decoding reads
// the weights, not the activations, so int16 costs no measurable speed (same doc).
// W is read one group of 4 rows at a time, front to back (Q8Matrix's layout): the group's fp16
// scales are first widened to fp32 into a small per-thread buffer (exactly: bit moves and one
// multiply by 2¹¹², no F16C needed), or read from the matrix's own fp32 copy where it keeps one
// (Q8Matrix.KeepScalesWidened: models that stay in the caches), then every row of A is multiplied with the group's 4 rows:
// a prompt's rows two at a time (each slice of weights widened once for both: Dot4x2) and in
// blocks of about 32 KB of activations taken against every group before the next block, so that
// they stay in the L1.
// Integer dot products: 16 int8 weights at a time are sign-extended to int16 (VPMOVSXBW),
// multiplied with as many activations and pair-summed to int32 by
// AVX2's VPMADDWD, or by AVX-VNNI's VPDPWSSD where the CPU has it; where it has AVX-512 BW and no
// AVX-VNNI (Zen 4), 32 at a time on 512 bits. A group's 4 rows are multiplied together, each
// activation vector loaded once for the 4 (Chunk4, Chunk512x4). |qw| ≤ 127 and |qa| ≤ 32767
// keep every pair sum (≤ 8.3 · 10⁶) and block sum (≤ 1.4 · 10⁸) far inside int32, so all give the
// same integers: the results are identical on every path but the scalar one.
// Per element the order of operations is fixed (chunks, then the runs and a last block, in order, into 8
// fp32 lanes, then the lanes summed in a fixed tree), so results do not depend on the thread
// count. Without AVX2, ARM64 runs the same arithmetic on 128-bit vectors (Q8Gemm128: the same
// bits); other CPUs a scalar loop with one fp32 accumulator, on the activations in their natural
// order (a different, equally fixed order of operations).
// Error: quantizing A adds a relative error of about 1/65534 per element (half a step of 32767),
// next to W's 1/254; the test bounds both against the f32 product (Q8GemmTests).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Q8Gemm
{
    /// <summary>Which integer dot product runs here (in Job.Compute's order, so a forced path is named too): AVX-VNNI, AVX-512, AVX2, NEON or scalar.</summary>
    public static string DotKind =>
        Use128 ? (System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported ? "NEON (smlal on 128 bits, int8 weights × int16 activations)" : "128-bit loop (Q8Gemm128, forced on x86)")
        : !Avx2.IsSupported || ForceScalar ? "scalar"
        : UseVnni ? "AVX-VNNI (vpdpwssd, int8 weights × int16 activations)"
        : UseWide ? "AVX-512 (vpmaddwd on 512 bits, int8 weights × int16 activations)"
        : "AVX2 (vpmaddwd, int8 weights × int16 activations)";

    /// <summary>
    /// The group loop on 128-bit vectors (Q8Gemm128): on ARM64, which has no AVX2; on x86 only when
    /// tests or benches ask (Force128), to check its arithmetic against the AVX2 path's bits.
    /// </summary>
    private static bool Use128 => !ForceScalar && (Force128 || (!Avx2.IsSupported && System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported));
    /// <summary>Tests set this to run Q8Gemm128 on x86 (its portable and SSE operations).</summary>
    internal static bool Force128;
    /// <summary>Whether the activations are put in the chunks' interleaved order (every path but the scalar one reads them so).</summary>
    private static bool Interleaved => (Avx2.IsSupported && !ForceScalar) || Use128;

    private static bool UseVnni => AvxVnni.IsSupported && !ForceAvx2 && !ForceWide;
    /// <summary>
    /// Chunks on 512 bits where the CPU has AVX-512 BW and no AVX-VNNI (Zen 4): one widening and one
    /// multiply-add per 32 weights instead of two, and with the weights in cache the products took
    /// 10–14 % less time (`bench q8 --resident`; read from memory, the same). Where AVX-VNNI exists,
    /// its fused 256-bit multiply-add stays (the two were not measured against each other: no CPU
    /// with both has been lent since; `bench q8 --dot avx512` against the default compares them).
    /// </summary>
    private static bool UseWide => Avx512BW.IsSupported && !ForceAvx2 && (ForceWide || !UseVnni);
    /// <summary>Tests set this to run the AVX2 sequence on a VNNI machine (both must agree).</summary>
    internal static bool ForceAvx2;
    /// <summary>Tests and benches set this to run the 512-bit chunks where AVX-VNNI exists too (a CPU with both).</summary>
    internal static bool ForceWide;
    /// <summary>Tests set this to run the scalar loop.</summary>
    internal static bool ForceScalar;

    /// <summary>
    /// How far ahead of the values being multiplied the kernel asks for W (software prefetch; 0 =
    /// none). The layout is one forward stream. On Zen 3 (512 KB L2) the hardware prefetcher alone
    /// left the product at 9–11 GB/s and 1–4 KB ahead gave 12–16 (`bench q8`), 2 KB the most
    /// consistently. On Zen 4 (1 MB L2) the same 2 KB made decoding slower: q8_0 / bf16 decode 1.23–1.27×
    /// with it, 1.43–1.51× without (`bench model --case decode-ab --prefetch`), 512 B and 8 KB no better.
    /// So it follows the L2 size, the one difference between the two CPUs that the cache blocking also
    /// reads; that rule rests on these two CPUs only.
    /// </summary>
    internal static int PrefetchBytes = DefaultPrefetchBytes(CpuInfo.Caches);

    /// <summary>
    /// Bytes of quantized activations (int16) taken against every group before the next rows of A
    /// (a prompt's rows): about the L1 data cache, so that each row, read once per group, stays
    /// there. Measured on Zen 4 with M = 512: K = 1536, whose 1.5 MB of activations overflow the L2,
    /// 9.2 → 7.6 ms on one thread; 16 and 64 KB measured alike.
    /// </summary>
    internal const int ActivationBlockBytes = 32 * 1024;

    internal static int DefaultPrefetchBytes(CacheSizes caches) => caches.L2 >= 1 << 20 ? 0 : 2048;

    /// <summary>
    /// Whether a model with int8Bytes of Q8_0 weights should keep their scales widened to fp32
    /// (Q8Matrix.KeepScalesWidened): when they fit in half the L3 of the cores that decode, so that
    /// they, the widened scales, the cache of keys and values and the activations stay in the caches
    /// from token to token. There (the shipped model: 7.4 MB of int8 on Zen 4's 16 MB a core) a
    /// product's instructions bound it, and widening the scales of every group at every product
    /// took about a tenth of them; read from memory (SmolLM-135M's shapes), the fp32 copy made the
    /// products 10–15 % slower. Measured on Zen 4 only (docs/engine-int8.md).
    /// </summary>
    internal static bool KeepsScalesWidened(long int8Bytes, CacheSizes caches, int threads) => int8Bytes <= WideScalesUpTo(caches, threads);

    /// <summary>KeepsScalesWidened's limit: half the L3 of threads cores.</summary>
    internal static long WideScalesUpTo(CacheSizes caches, int threads) => caches.L3Of(threads) / 2;

    /// <summary>A group's scales widened to fp32 (per thread: the threads work on different groups).</summary>
    [ThreadStatic] private static float[]? groupScales;

    /// <summary>C [M, N] (row stride ldc) (+)= A [M, K] (row stride lda) · Wᵀ, W = Q8_0 [N, K].</summary>
    public static void Multiply(int M, float* A, long lda, Q8Matrix W, float* C, long ldc, bool accumulate) =>
        MultiplyMany(M, A, lda, new[] { new Product(W, C, ldc) }, accumulate);

    /// <summary>One product of MultiplyMany: C [M, N] (row stride ldc) (+)= A · Wᵀ.</summary>
    public readonly struct Product(Q8Matrix w, float* c, long ldc)
    {
        public Q8Matrix W { get; } = w;
        public float* C { get; } = c;
        public long Ldc { get; } = ldc;
    }

    /// <summary>
    /// Several weights of one input A [M, K] (a layer's q, k and v; gate and up): each product gives
    /// the bits Multiply gives it alone, but A is quantized once and all the products' groups of 4
    /// rows are one parallel job. In a decoding step every product is a few microseconds (the
    /// shipped model's k and v about 1 each), so with two cores a hand-off per product was a
    /// large part of its time.
    /// </summary>
    public static void MultiplyMany(int M, float* A, long lda, Product[] products, bool accumulate)
    {
        if (products.Length == 0) return;
        int K = products[0].W.Cols, nb = products[0].W.BlocksPerRow;
        if (M < 0) throw new LetheException($"Q8Gemm: M = {M} must not be negative");
        if (lda < K) throw new LetheException($"Q8Gemm: lda = {lda} is smaller than K = {K} of the weight '{products[0].W.Name}' [{products[0].W.Rows}, {K}]");
        foreach (var product in products)
        {
            var W = product.W; long ldc = product.Ldc;
            if (W.Cols != K) throw new LetheException($"Q8Gemm: the weight '{W.Name}' [{W.Rows}, {W.Cols}] does not take the {K} inputs of '{products[0].W.Name}'");
            if (ldc < W.Rows) throw new LetheException($"Q8Gemm: ldc = {ldc} is smaller than N = {W.Rows} of the weight '{W.Name}' [{W.Rows}, {K}]");
        }
        if (M == 0) return;
        var call = current ??= new Call();
        // Quantize A once for all columns of all products (M × K int16 + M × nb scales).
        var input = Quantize(M, A, lda, K);
        long columns = call.Set(M, K, nb, input.Qa, input.Sa, products, accumulate);
        int groups = call.Groups;
        bool parallel = 2.0 * M * columns * K >= GemmBlocking.MinParallelGemvFlops && Engine.Threads > 1;
        call.Staged = OutputStage.Applies(M, split: parallel);
        try
        {
            if (parallel) Engine.For(groups, 1, call.Body);
            else call.RunGroups(0, groups);
        }
        finally { call.Release(); }
    }

    /// <summary>A [M, K] quantized (int16 per block of 32, interleaved as the chunks read it) with its scales: the input of products of one A.</summary>
    internal readonly struct QuantizedInput(int m, int k, short* qa, float* sa)
    {
        public readonly int M = m, K = k;
        public readonly short* Qa = qa;
        public readonly float* Sa = sa;
    }

    /// <summary>
    /// Quantizes A [M, K] (row stride lda) into the calling thread's scratch, valid until its next
    /// Quantize or product call; other threads may read it meanwhile.
    /// </summary>
    internal static QuantizedInput Quantize(int M, float* A, long lda, int K)
    {
        int nb = K / Q8Matrix.BlockSize;
        var scratch = GemmBuffers.ForThread();
        short* qa = (short*)scratch.QuantA(M * (long)K / 2 + 16);
        float* sa = scratch.QuantAScales((long)M * nb);
        bool interleaved = Interleaved;
        for (int i = 0; i < M; i++)
        {
            QuantizeRow(A + i * lda, K, qa + (long)i * K, sa + (long)i * nb);
            if (interleaved) InterleaveChunks(qa + (long)i * K, K);
        }
        return new QuantizedInput(M, K, qa, sa);
    }

    /// <summary>
    /// Rows [4·g0, 4·g1) of W's product with a quantized input, C[:, 4·g0 .. 4·g1) = A · Wᵀ, on the
    /// calling thread: for a caller that splits a step's work itself (the decoding attention's job
    /// by KV heads). Every element gets MultiplyMany's bits.
    /// </summary>
    internal static void MultiplyGroups(in QuantizedInput a, Q8Matrix W, int g0, int g1, float* C, long ldc)
    {
        if (W.Cols != a.K) throw new LetheException($"Q8Gemm: the weight '{W.Name}' [{W.Rows}, {W.Cols}] does not take the {a.K} inputs given");
        if (g0 < 0 || g1 > W.Groups || g0 > g1) throw new ArgumentOutOfRangeException(nameof(g1), $"groups [{g0}, {g1}) of '{W.Name}', which has {W.Groups}");
        new Job(a.M, a.K, W.BlocksPerRow, a.Qa, a.Sa, W, C, ldc, accumulate: false).Groups(g0, g1, staged: OutputStage.Applies(a.M, split: Engine.Threads > 1));
    }

    /// <summary>The calling thread's MultiplyMany state, reused from call to call.</summary>
    [ThreadStatic] private static Call? current;

    /// <summary>
    /// One MultiplyMany call: its inputs and products, and the body the threads run, in one object
    /// that each calling thread keeps. In a decoding step a product takes a few microseconds, and the
    /// other core can only start once it has read what the call is: fresh objects per call (the
    /// body's closure, an array of jobs, one job per product) were a chain of cache lines it had to
    /// fetch from the caller's core one after another.
    /// </summary>
    private sealed class Call
    {
        private int M, K, Nb, Count;
        private short* Qa;
        private float* Sa;
        private bool Accumulate;
        /// <summary>Whether the chunks stage their results (OutputStage): when they run on more than one thread.</summary>
        public bool Staged;
        private Product[] Products = new Product[4];
        /// <summary>The products' groups numbered one after another: product p has groups [First[p], First[p + 1]).</summary>
        private int[] First = new int[5];
        public readonly Action<int, int> Body;

        /// <summary>The call's groups in all.</summary>
        public int Groups => First[Count];

        public Call() => Body = RunGroups;

        /// <summary>Takes one call's inputs; returns the products' rows in all.</summary>
        public long Set(int m, int k, int nb, short* qa, float* sa, Product[] products, bool accumulate)
        {
            M = m; K = k; Nb = nb; Qa = qa; Sa = sa; Accumulate = accumulate; Count = products.Length;
            if (Products.Length < Count) { Products = new Product[Count]; First = new int[Count + 1]; }
            long columns = 0;
            for (int p = 0; p < Count; p++)
            {
                Products[p] = products[p];
                First[p + 1] = First[p] + products[p].W.Groups;
                columns += products[p].W.Rows;
            }
            return columns;
        }

        /// <summary>Drops the call's weights, so that a thread's last call does not keep them alive.</summary>
        public void Release() => Array.Clear(Products, 0, Count);

        /// <summary>Groups [g0, g1) of the numbering in First.</summary>
        public void RunGroups(int g0, int g1)
        {
            for (int p = 0; p < Count; p++)
            {
                int s = Math.Max(g0, First[p]), e = Math.Min(g1, First[p + 1]);
                if (s < e) new Job(M, K, Nb, Qa, Sa, Products[p].W, Products[p].C, Products[p].Ldc, Accumulate).Groups(s - First[p], e - First[p], Staged);
            }
        }
    }

    /// <summary>One activation row to int16 per block of 32 (scales in fp32).</summary>
    internal static void QuantizeRow(float* x, int K, short* q, float* scales)
    {
        bool vector = Avx2.IsSupported && !ForceScalar;
        for (int b = 0; b < K / Q8Matrix.BlockSize; b++)
            scales[b] = vector ? QuantizeBlock256(x + b * Q8Matrix.BlockSize, q + b * Q8Matrix.BlockSize)
                               : QuantizeBlock(x + b * Q8Matrix.BlockSize, q + b * Q8Matrix.BlockSize);
    }

    /// <summary>
    /// Puts a quantized activation row in the weights' order (Q8Matrix's runs): in each run of w
    /// blocks (chunks of 8, then runs of 4 and 2), pair p of block k moves to position p · w + k
    /// (pairs of int16 moved as one int32), so that the activations line up with the interleaved
    /// weights. A last block alone (a run of 1) stays as it is.
    /// </summary>
    internal static void InterleaveChunks(short* q, int K)
    {
        const int Pairs = Q8Matrix.BlockSize / 2;
        if (!Avx2.IsSupported) { InterleaveChunksScalar(q, K); return; }
        int chunks = K / Q8Matrix.ChunkValues;
        for (int c = 0; c < chunks; c++)
        {
            // The chunk as an 8 × 16 matrix of int32 pairs (row k = block k) becomes its 16 × 8
            // transpose: two 8 × 8 transposes, pairs 0–7 and 8–15. Every row is loaded before any is
            // stored (the result overwrites the rows in place).
            int* chunk = (int*)(q + c * Q8Matrix.ChunkValues);
            Vector256<int> a0 = Vector256.Load(chunk), a1 = Vector256.Load(chunk + Pairs), a2 = Vector256.Load(chunk + 2 * Pairs), a3 = Vector256.Load(chunk + 3 * Pairs);
            Vector256<int> a4 = Vector256.Load(chunk + 4 * Pairs), a5 = Vector256.Load(chunk + 5 * Pairs), a6 = Vector256.Load(chunk + 6 * Pairs), a7 = Vector256.Load(chunk + 7 * Pairs);
            Vector256<int> b0 = Vector256.Load(chunk + 8), b1 = Vector256.Load(chunk + Pairs + 8), b2 = Vector256.Load(chunk + 2 * Pairs + 8), b3 = Vector256.Load(chunk + 3 * Pairs + 8);
            Vector256<int> b4 = Vector256.Load(chunk + 4 * Pairs + 8), b5 = Vector256.Load(chunk + 5 * Pairs + 8), b6 = Vector256.Load(chunk + 6 * Pairs + 8), b7 = Vector256.Load(chunk + 7 * Pairs + 8);
            Transpose8(a0, a1, a2, a3, a4, a5, a6, a7, chunk);
            Transpose8(b0, b1, b2, b3, b4, b5, b6, b7, chunk + 8 * Q8Matrix.ChunkBlocks);
        }
        int nb = K / Q8Matrix.BlockSize, b = chunks * Q8Matrix.ChunkBlocks;
        if ((nb & 4) != 0) { InterleaveRun4((int*)(q + b * Q8Matrix.BlockSize)); b += 4; }
        if ((nb & 2) != 0) InterleaveRun2((int*)(q + b * Q8Matrix.BlockSize));
    }

    /// <summary>
    /// A run of 4 blocks (a 4 × 16 matrix of int32 pairs, row k = block k) into its 16 × 4 transpose,
    /// in place, by halves of 8 pairs: 32- and 64-bit unpacks give pairs p and p + 4 of the 4 blocks
    /// in one vector, and the 128-bit halves are then put in order. A scalar loop took about 70 ns of
    /// the shipped model's 704 down inputs (runs of 4 and 2), quantized before every down product.
    /// </summary>
    private static void InterleaveRun4(int* run)
    {
        const int Pairs = Q8Matrix.BlockSize / 2;
        Vector256<int> a0 = Vector256.Load(run), a1 = Vector256.Load(run + Pairs), a2 = Vector256.Load(run + 2 * Pairs), a3 = Vector256.Load(run + 3 * Pairs);
        Vector256<int> b0 = Vector256.Load(run + 8), b1 = Vector256.Load(run + Pairs + 8), b2 = Vector256.Load(run + 2 * Pairs + 8), b3 = Vector256.Load(run + 3 * Pairs + 8);
        Transpose4x8(a0, a1, a2, a3, run);
        Transpose4x8(b0, b1, b2, b3, run + 32);
    }

    /// <summary>Rows r0..r3 of 8 int32 each as their 8 × 4 transpose at dst (dst[4j + k] = lane j of rk).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x8(Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3, int* dst)
    {
        LanesOf4(r0, r1, r2, r3, out var u0, out var u1, out var u2, out var u3);
        Avx2.Permute2x128(u0, u1, 0x20).Store(dst); Avx2.Permute2x128(u2, u3, 0x20).Store(dst + 8);
        Avx2.Permute2x128(u0, u1, 0x31).Store(dst + 16); Avx2.Permute2x128(u2, u3, 0x31).Store(dst + 24);
    }

    /// <summary>
    /// Lane j of rows r0..r3 side by side, within each 128-bit half: u0 = [lane 0 of r0..r3 | lane 4],
    /// u1 lanes 1 | 5, u2 lanes 2 | 6, u3 lanes 3 | 7 (32-bit, then 64-bit unpacks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LanesOf4(Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3,
        out Vector256<int> u0, out Vector256<int> u1, out Vector256<int> u2, out Vector256<int> u3)
    {
        var t0 = Avx2.UnpackLow(r0, r1).AsInt64(); var t1 = Avx2.UnpackHigh(r0, r1).AsInt64();
        var t2 = Avx2.UnpackLow(r2, r3).AsInt64(); var t3 = Avx2.UnpackHigh(r2, r3).AsInt64();
        u0 = Avx2.UnpackLow(t0, t2).AsInt32(); u1 = Avx2.UnpackHigh(t0, t2).AsInt32();
        u2 = Avx2.UnpackLow(t1, t3).AsInt32(); u3 = Avx2.UnpackHigh(t1, t3).AsInt32();
    }

    /// <summary>A run of 2 blocks (2 × 16 int32 pairs) into its 16 × 2 transpose, in place: 32-bit unpacks, then the 128-bit halves put in order.</summary>
    private static void InterleaveRun2(int* run)
    {
        const int Pairs = Q8Matrix.BlockSize / 2;
        Vector256<int> a0 = Vector256.Load(run), a1 = Vector256.Load(run + Pairs), b0 = Vector256.Load(run + 8), b1 = Vector256.Load(run + Pairs + 8);
        Interleave2x8(a0, a1, run);
        Interleave2x8(b0, b1, run + 16);
    }

    /// <summary>Rows r0, r1 of 8 int32 each interleaved at dst (dst[2j + k] = lane j of rk).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave2x8(Vector256<int> r0, Vector256<int> r1, int* dst)
    {
        // t0 = [lanes 0, 1 | 4, 5] of both rows, t1 = [2, 3 | 6, 7].
        var t0 = Avx2.UnpackLow(r0, r1); var t1 = Avx2.UnpackHigh(r0, r1);
        Avx2.Permute2x128(t0, t1, 0x20).Store(dst); Avx2.Permute2x128(t0, t1, 0x31).Store(dst + 8);
    }

    /// <summary>InterleaveChunks without AVX2 (ARM64): the same moves one pair at a time, through a copy of each run.</summary>
    internal static void InterleaveChunksScalar(short* q, int K)
    {
        int nb = K / Q8Matrix.BlockSize;
        for (int b = 0, width; b < nb && (width = Q8Matrix.RunWidth(nb - b)) > 1; b += width) InterleaveRun(q, b, width);
    }

    /// <summary>The run of width blocks from block b: pair p of block k moves to position p · width + k.</summary>
    private static void InterleaveRun(short* q, int b, int width)
    {
        const int Pairs = Q8Matrix.BlockSize / 2;
        int* copy = stackalloc int[Q8Matrix.ChunkBlocks * Pairs];
        int* run = (int*)(q + b * Q8Matrix.BlockSize);
        new Span<int>(run, width * Pairs).CopyTo(new Span<int>(copy, width * Pairs));
        for (int k = 0; k < width; k++)
            for (int p = 0; p < Pairs; p++) run[p * width + k] = copy[k * Pairs + p];
    }

    /// <summary>
    /// Stores the 8 × 8 transpose of rows r0..r7 at dst (row j of the result = lane j of every r):
    /// 32-bit, then 64-bit unpacks within each 128-bit half, then the halves exchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3,
        Vector256<int> r4, Vector256<int> r5, Vector256<int> r6, Vector256<int> r7, int* dst)
    {
        // u0 = [r0..r3 lane 0 | r0..r3 lane 4], u1 lanes 1 | 5, u2 lanes 2 | 6, u3 lanes 3 | 7; u4..u7 the same for r4..r7.
        LanesOf4(r0, r1, r2, r3, out var u0, out var u1, out var u2, out var u3);
        LanesOf4(r4, r5, r6, r7, out var u4, out var u5, out var u6, out var u7);
        Avx2.Permute2x128(u0, u4, 0x20).Store(dst); Avx2.Permute2x128(u1, u5, 0x20).Store(dst + 8);
        Avx2.Permute2x128(u2, u6, 0x20).Store(dst + 16); Avx2.Permute2x128(u3, u7, 0x20).Store(dst + 24);
        Avx2.Permute2x128(u0, u4, 0x31).Store(dst + 32); Avx2.Permute2x128(u1, u5, 0x31).Store(dst + 40);
        Avx2.Permute2x128(u2, u6, 0x31).Store(dst + 48); Avx2.Permute2x128(u3, u7, 0x31).Store(dst + 56);
    }

    /// <summary>
    /// One block of 32 activations to int16: d = max|x| / 32767 in fp32, q = x · (1/d) rounded half
    /// away from zero (the weights' rule with 32767 in place of 127). A block with a NaN gives
    /// NaN, one with an infinity NaN or 0 (the scale is infinite): the product is then not finite,
    /// as it would be in fp32.
    /// </summary>
    internal static float QuantizeBlock(float* v, short* q)
    {
        float amax = 0;
        for (int j = 0; j < Q8Matrix.BlockSize; j++) amax = Math.Max(amax, Math.Abs(v[j]));
        float d = amax / 32767f, id = d != 0 ? 1f / d : 0f;
        for (int j = 0; j < Q8Matrix.BlockSize; j++) q[j] = (short)MathF.Round(v[j] * id, MidpointRounding.AwayFromZero);
        return d;
    }

    /// <summary>
    /// QuantizeBlock in AVX2, with the same bits: the same fp32 max, scale and products x · (1/d);
    /// round half away from zero as t = trunc(y), then t ± 1 where |y − t| ≥ 0.5 (y − t is exact),
    /// not as trunc(y ± 0.5), which rounds wrongly just below a half. A block with a NaN or an
    /// infinity goes to the scalar code.
    /// </summary>
    internal static float QuantizeBlock256(float* v, short* q)
    {
        Vector256<float> x0 = Vector256.Load(v), x1 = Vector256.Load(v + 8), x2 = Vector256.Load(v + 16), x3 = Vector256.Load(v + 24);
        float amax = AbsMax(x0, x1, x2, x3);
        var nan = Avx.CompareUnordered(x0, x1) | Avx.CompareUnordered(x2, x3);
        if (!float.IsFinite(amax) || Avx.MoveMask(nan) != 0) return QuantizeBlock(v, q);
        float d = amax / 32767f, id = d != 0 ? 1f / d : 0f;
        var vid = Vector256.Create(id);
        // The pack works per 128-bit lane (x0.lo x1.lo | x0.hi x1.hi): swap the middle 64-bit quarters back.
        var i01 = Avx2.PackSignedSaturate(RoundAway(x0 * vid), RoundAway(x1 * vid)).AsInt64();
        var i23 = Avx2.PackSignedSaturate(RoundAway(x2 * vid), RoundAway(x3 * vid)).AsInt64();
        Avx2.Permute4x64(i01, 0b11_01_10_00).AsInt16().Store(q);
        Avx2.Permute4x64(i23, 0b11_01_10_00).AsInt16().Store(q + 16);
        return d;
    }

    /// <summary>The largest |x| of a block of 32 in four vectors (as the scalar loop's Math.Max for finite values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float AbsMax(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3)
    {
        var m = Avx.Max(Avx.Max(Vector256.Abs(x0), Vector256.Abs(x1)), Avx.Max(Vector256.Abs(x2), Vector256.Abs(x3)));
        var m4 = Sse.Max(m.GetLower(), m.GetUpper());
        m4 = Sse.Max(m4, Sse.MoveHighToLow(m4, m4));
        return Sse.Max(m4, Sse.Shuffle(m4, m4, 1)).ToScalar();
    }

    /// <summary>y rounded half away from zero, to int32 (|y| < 2³¹); exact (see QuantizeBlock256).</summary>
    internal static Vector256<int> RoundAway(Vector256<float> y)
    {
        var t = Avx.RoundToZero(y);
        var half = Avx.CompareGreaterThanOrEqual(Vector256.Abs(y - t), Vector256.Create(0.5f));
        var step = (y & Vector256.Create(-0f)) | Vector256.Create(1f); // ±1 with y's sign
        return Avx.ConvertToVector256Int32WithTruncation(t + (step & half));
    }

    /// <summary>
    /// fp16 → fp32, exactly, for finite values (Q8Matrix refuses others): the fp16 exponent and
    /// mantissa bits moved into place read as an fp32 2¹¹² times too small (normal or subnormal
    /// alike: the exponent biases differ by 112), so one multiply by 2¹¹² (exact) fixes it. The
    /// value is sign-extended to 32 bits and shifted left by 13, which puts a copy of the sign at bit
    /// 31 and the other 15 bits at 27..13; one mask keeps those, and the multiply keeps the sign.
    /// `count` is a multiple of 8 (the header is padded to 32 bytes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void WidenScales(ushort* h, float* dst, int count)
    {
        const float Two112 = 5.192296858534828e33f; // 2¹¹²
        int i = 0;
        if (Avx2.IsSupported && !ForceScalar)
            for (; i + 8 <= count; i += 8)
            {
                var v = Avx2.ConvertToVector256Int32((short*)h + i);
                var bits = Avx2.ShiftLeftLogical(v, 13) & Vector256.Create(unchecked((int)0x8FFFE000));
                (bits.AsSingle() * Vector256.Create(Two112)).Store(dst + i);
            }
        for (; i < count; i++) dst[i] = DTypes.F16ToF32(h[i]);
    }

    private readonly struct Job(int M, int K, int nb, short* qa, float* sa, Q8Matrix W, float* C, long ldc, bool accumulate)
    {
        /// <summary>
        /// C[:, 4·g0 .. 4·g1): one group of 4 rows of W at a time, each against every row of A; with
        /// staged, through the thread's scratch (OutputStage), the same bits.
        /// </summary>
        public void Groups(int g0, int g1, bool staged)
        {
            if (g0 >= g1) return;
            if (staged)
            {
                int r0 = g0 * Q8Matrix.GroupRows, width = Math.Min(g1 * Q8Matrix.GroupRows, W.Rows) - r0;
                float* stage = OutputStage.Take(M, width);
                new Job(M, K, nb, qa, sa, W, stage - r0, width, accumulate: false).Compute(g0, g1);
                OutputStage.Flush(stage, M, width, C + r0, ldc, accumulate);
            }
            else Compute(g0, g1);
        }

        private void Compute(int g0, int g1)
        {
            int headerFloats = W.HeaderBytes / 2;
            var buffer = groupScales is { } b && b.Length >= headerFloats ? b : groupScales = new float[Math.Max(headerFloats, 256)];
            fixed (float* sw = buffer)
            {
                if (Use128) Q8Gemm128.Groups(M, K, nb, qa, sa, W, C, ldc, accumulate, g0, g1, sw);
                else if (!Avx2.IsSupported || ForceScalar) GroupsScalar(g0, g1);
                else if (UseVnni) GroupsVector<VnniDot, NarrowChunks<VnniDot>>(g0, g1, sw);
                else if (UseWide) GroupsVector<Avx2Dot, WideChunks>(g0, g1, sw);
                else GroupsVector<Avx2Dot, NarrowChunks<Avx2Dot>>(g0, g1, sw);
            }
        }

        private void GroupsScalar(int g0, int g1)
        {
            for (int g = g0; g < g1; g++)
            {
                int j = g * Q8Matrix.GroupRows, n = Math.Min(Q8Matrix.GroupRows, W.Rows - j);
                for (int i = 0; i < M; i++)
                    for (int r = 0; r < n; r++) Put(C + i * ldc + j + r, DotScalar(i, j + r));
            }
        }

        /// <summary>
        /// The group loop with Dot4 inlined: with K = 256 a group's product is one chunk per row, short
        /// beside a call's prologue and epilogue. Measured with the one-vector lane sums (engine-int8.md):
        /// both together made the products faster in cache and streamed; the sums alone did not. Rows
        /// of A (a prompt's) go two at a time (Dot4x2) and in blocks of about ActivationBlockBytes,
        /// each block against every group; every output's operations stay those of Dot4 alone.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void GroupsVector<TD, TC>(int g0, int g1, float* sw) where TD : struct, IInt8Dot where TC : struct, IChunkKernel
        {
            int block = Math.Max(2, ActivationBlockBytes / (K * sizeof(short)) / 2 * 2); // rows of A, an even number (Dot4x2 takes pairs)
            for (int i0 = 0; i0 < M; i0 += block)
            {
                int i1 = Math.Min(M, i0 + block);
                for (int g = g0; g < g1; g++)
                {
                    int j = g * Q8Matrix.GroupRows, n = Math.Min(Q8Matrix.GroupRows, W.Rows - j);
                    byte* group = W.Data + g * W.GroupBytes;
                    float* scales = W.GroupScales(g, sw);   // kept in fp32 (Q8Matrix.KeepScalesWidened) or widened into sw
                    int i = i0;
                    for (; i + 2 <= i1; i += 2) Dot4x2<TD, TC>(i, (sbyte*)(group + W.HeaderBytes), scales, n, C + i * ldc + j, C + (i + 1) * ldc + j);
                    for (; i < i1; i++) Dot4<TD, TC>(i, (sbyte*)(group + W.HeaderBytes), scales, n, C + i * ldc + j);
                }
            }
        }

        private void Put(float* c, float v) => *c = accumulate ? *c + v : v;

        private float DotScalar(int i, int j)
        {
            float acc = 0;
            short* a = qa + (long)i * K;
            sbyte* w = stackalloc sbyte[Q8Matrix.BlockSize];
            for (int b = 0; b < nb; b++)
            {
                W.ReadBlock(j, b, w);
                int s = 0;
                for (int t = 0; t < Q8Matrix.BlockSize; t++) s += a[b * Q8Matrix.BlockSize + t] * w[t];
                acc = MathF.FusedMultiplyAdd(s, sa[(long)i * nb + b] * W.Scale(j, b), acc);
            }
            return acc;
        }

        /// <summary>
        /// Row i of A (its runs interleaved like the weights) against the 4 rows of one group (values
        /// w, widened scales sw: row after row, nb each); one fp32 vector accumulator per row of W.
        /// A chunk of 8 blocks gives one int32 vector per row whose lane k is block k's exact sum, so
        /// one convert, one multiply of the 8 scale pairs sa · sw and one FMA do the float work of 8
        /// blocks; the runs of 4 and 2 after the chunks the same (lane k holds a part of block k mod 4
        /// or k mod 2). A last block alone is done by itself: a convert, a broadcast scale and an FMA
        /// per row. The sums of padding rows (n &lt; 4; zeros) are dropped.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Dot4<TD, TC>(int i, sbyte* w, float* sw, int n, float* c) where TD : struct, IInt8Dot where TC : struct, IChunkKernel
        {
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            short* a = qa + (long)i * K;
            float* sai = sa + (long)i * nb;
            int ahead = PrefetchBytes, b = 0;
            const int GroupBlock = Q8Matrix.GroupRows * Q8Matrix.BlockSize;   // bytes of a group per block
            for (; b + Q8Matrix.ChunkBlocks <= nb; b += Q8Matrix.ChunkBlocks, w += Q8Matrix.ChunkBlocks * GroupBlock)
            {
                if (ahead > 0) for (int o = 0; o < Q8Matrix.ChunkBlocks * GroupBlock; o += 64) Sse.Prefetch0(w + ahead + o);
                AddRun<TC>(Q8Matrix.ChunkBlocks, a, sai, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3);
            }
            if (b < nb)
            {
                if (ahead > 0) for (int o = 0; o < (nb - b) * GroupBlock; o += 64) Sse.Prefetch0(w + ahead + o);
                if ((nb & 4) != 0) { AddRun<TC>(4, a, sai, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3); b += 4; w += 4 * GroupBlock; }
                if ((nb & 2) != 0) { AddRun<TC>(2, a, sai, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3); b += 2; w += 2 * GroupBlock; }
                if (b < nb) LastBlock<TD>(a, sai, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3);
            }
            Store(acc0, acc1, acc2, acc3, n, c);
        }

        /// <summary>
        /// A run of width blocks from block b (values w) into the 4 rows' accumulators: each row's
        /// int32 lanes (lane k: block b + k mod width) converted and scaled by their blocks' sa · sw.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void AddRun<TC>(int width, short* a, float* sai, int b, sbyte* w, float* sw,
            ref Vector256<float> acc0, ref Vector256<float> acc1, ref Vector256<float> acc2, ref Vector256<float> acc3) where TC : struct, IChunkKernel
        {
            TC.Rows4(w, a + b * Q8Matrix.BlockSize, width * Q8Matrix.BlockSize, out var s0, out var s1, out var s2, out var s3);
            var sx = Lanes(sai, b, width);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s0), sx * Lanes(sw, b, width), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s1), sx * Lanes(sw + nb, b, width), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s2), sx * Lanes(sw + 2 * nb, b, width), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s3), sx * Lanes(sw + 3 * nb, b, width), acc3);
        }

        /// <summary>
        /// Dot4 for rows i and i + 1 of A together (a prompt's rows): each slice of weights is widened
        /// once for the two rows (TC.Rows4x2). Every output goes through the same operations as in
        /// Dot4, so the bits do not depend on how the rows were paired.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Dot4x2<TD, TC>(int i, sbyte* w, float* sw, int n, float* c, float* c2) where TD : struct, IInt8Dot where TC : struct, IChunkKernel
        {
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            Vector256<float> bcc0 = default, bcc1 = default, bcc2 = default, bcc3 = default;
            short* a = qa + (long)i * K, a2 = a + K;
            float* sai = sa + (long)i * nb, sai2 = sai + nb;
            int b = 0;
            const int GroupBlock = Q8Matrix.GroupRows * Q8Matrix.BlockSize;
            for (; b + Q8Matrix.ChunkBlocks <= nb; b += Q8Matrix.ChunkBlocks, w += Q8Matrix.ChunkBlocks * GroupBlock)
                AddRunx2<TC>(Q8Matrix.ChunkBlocks, a, a2, sai, sai2, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3, ref bcc0, ref bcc1, ref bcc2, ref bcc3);
            if ((nb & 4) != 0) { AddRunx2<TC>(4, a, a2, sai, sai2, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3, ref bcc0, ref bcc1, ref bcc2, ref bcc3); b += 4; w += 4 * GroupBlock; }
            if ((nb & 2) != 0) { AddRunx2<TC>(2, a, a2, sai, sai2, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3, ref bcc0, ref bcc1, ref bcc2, ref bcc3); b += 2; w += 2 * GroupBlock; }
            if (b < nb)
            {
                // A last block alone: one row at a time, as Dot4 does it.
                LastBlock<TD>(a, sai, b, w, sw, ref acc0, ref acc1, ref acc2, ref acc3);
                LastBlock<TD>(a2, sai2, b, w, sw, ref bcc0, ref bcc1, ref bcc2, ref bcc3);
            }
            Store(acc0, acc1, acc2, acc3, n, c);
            Store(bcc0, bcc1, bcc2, bcc3, n, c2);
        }

        /// <summary>AddRun for two rows of A (a, sai and a2, sai2) at once, each weight slice widened once for both (TC.Rows4x2).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void AddRunx2<TC>(int width, short* a, short* a2, float* sai, float* sai2, int b, sbyte* w, float* sw,
            ref Vector256<float> acc0, ref Vector256<float> acc1, ref Vector256<float> acc2, ref Vector256<float> acc3,
            ref Vector256<float> bcc0, ref Vector256<float> bcc1, ref Vector256<float> bcc2, ref Vector256<float> bcc3) where TC : struct, IChunkKernel
        {
            TC.Rows4x2(w, a + b * Q8Matrix.BlockSize, a2 + b * Q8Matrix.BlockSize, width * Q8Matrix.BlockSize,
                out var s0, out var s1, out var s2, out var s3, out var t0, out var t1, out var t2, out var t3);
            Vector256<float> w0 = Lanes(sw, b, width), w1 = Lanes(sw + nb, b, width), w2 = Lanes(sw + 2 * nb, b, width), w3 = Lanes(sw + 3 * nb, b, width);
            var sx = Lanes(sai, b, width);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s0), sx * w0, acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s1), sx * w1, acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s2), sx * w2, acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s3), sx * w3, acc3);
            var sy = Lanes(sai2, b, width);
            bcc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t0), sy * w0, bcc0);
            bcc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t1), sy * w1, bcc1);
            bcc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t2), sy * w2, bcc2);
            bcc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t3), sy * w3, bcc3);
        }

        /// <summary>
        /// The 8 lanes' scales of a run of width 8, 4 or 2 from block b of s (a row's nb scales):
        /// lane k gets block b + k mod width's, as the run's int32 lanes hold the blocks.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Lanes(float* s, int b, int width) => width switch
        {
            Q8Matrix.ChunkBlocks => Vector256.Load(s + b),
            4 => Vector256.Create(Vector128.Load(s + b)),
            _ => Vector256.Create(*(double*)(s + b)).AsSingle(),
        };

        /// <summary>The last block b alone (a run of 1; natural order): a convert, a broadcast scale and an FMA per row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void LastBlock<TD>(short* a, float* sai, int b, sbyte* w, float* sw, ref Vector256<float> acc0, ref Vector256<float> acc1, ref Vector256<float> acc2, ref Vector256<float> acc3) where TD : struct, IInt8Dot
        {
            var x0 = Vector256.Load(a + b * Q8Matrix.BlockSize);
            var x1 = Vector256.Load(a + b * Q8Matrix.BlockSize + 16);
            float sx = sai[b];
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Block<TD>(w, x0, x1)), Vector256.Create(sx * sw[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Block<TD>(w + 32, x0, x1)), Vector256.Create(sx * sw[nb + b]), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Block<TD>(w + 64, x0, x1)), Vector256.Create(sx * sw[2 * nb + b]), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Block<TD>(w + 96, x0, x1)), Vector256.Create(sx * sw[3 * nb + b]), acc3);
        }

        /// <summary>The four rows' lane sums at once, [Σacc0, Σacc1, Σacc2, Σacc3], into c (n of them).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(Vector256<float> acc0, Vector256<float> acc1, Vector256<float> acc2, Vector256<float> acc3, int n, float* c)
        {
            var h = Avx.HorizontalAdd(Avx.HorizontalAdd(acc0, acc1), Avx.HorizontalAdd(acc2, acc3));
            var sums = h.GetLower() + h.GetUpper();
            if (n == Q8Matrix.GroupRows) (accumulate ? Vector128.Load(c) + sums : sums).Store(c);
            else for (int r = 0; r < n; r++) Put(c + r, sums.GetElement(r));
        }
    }

    /// <summary>
    /// A group's chunk: its 4 rows' 256 int8 weights each (8 blocks interleaved by pairs, the rows in
    /// slices of 32 bytes: Q8Matrix) against the 256 interleaved int16 activations at x. Each 16
    /// activations are loaded once for the 4 rows. Every multiply-add's lane k is a pair of block k,
    /// so a row's lanes add up to its 8 blocks' exact int32 sums (two chains per row, for the adds'
    /// latency). A run of 4 or 2 blocks is the same with values 128 or 64 (lane k: block k mod 4 or 2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk4<TD>(sbyte* w, short* x, int values, out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2, out Vector256<int> r3) where TD : struct, IInt8Dot
    {
        const int S = Q8Matrix.SliceBytes, Step = Q8Matrix.GroupRows * S;
        var x0 = Vector256.Load(x); var x1 = Vector256.Load(x + 16);
        var a0 = TD.First(Avx2.ConvertToVector256Int16(w), x0); var b0 = TD.First(Avx2.ConvertToVector256Int16(w + 16), x1);
        var a1 = TD.First(Avx2.ConvertToVector256Int16(w + S), x0); var b1 = TD.First(Avx2.ConvertToVector256Int16(w + S + 16), x1);
        var a2 = TD.First(Avx2.ConvertToVector256Int16(w + 2 * S), x0); var b2 = TD.First(Avx2.ConvertToVector256Int16(w + 2 * S + 16), x1);
        var a3 = TD.First(Avx2.ConvertToVector256Int16(w + 3 * S), x0); var b3 = TD.First(Avx2.ConvertToVector256Int16(w + 3 * S + 16), x1);
        sbyte* v = w;
        for (int o = S; o < values; o += S)
        {
            v += Step;
            x0 = Vector256.Load(x + o); x1 = Vector256.Load(x + o + 16);
            a0 = TD.Next(a0, Avx2.ConvertToVector256Int16(v), x0); b0 = TD.Next(b0, Avx2.ConvertToVector256Int16(v + 16), x1);
            a1 = TD.Next(a1, Avx2.ConvertToVector256Int16(v + S), x0); b1 = TD.Next(b1, Avx2.ConvertToVector256Int16(v + S + 16), x1);
            a2 = TD.Next(a2, Avx2.ConvertToVector256Int16(v + 2 * S), x0); b2 = TD.Next(b2, Avx2.ConvertToVector256Int16(v + 2 * S + 16), x1);
            a3 = TD.Next(a3, Avx2.ConvertToVector256Int16(v + 3 * S), x0); b3 = TD.Next(b3, Avx2.ConvertToVector256Int16(v + 3 * S + 16), x1);
        }
        r0 = a0 + b0; r1 = a1 + b1; r2 = a2 + b2; r3 = a3 + b3;
    }

    /// <summary>
    /// Chunk4 with AVX-512: a row's 32-byte slice per VPMOVSXBW and VPMADDWD, each 32 activations
    /// loaded once for the 4 rows. Lane k + 8 of a row's sum holds block k like lane k (the next
    /// pair), so the halves are added at the end: the same integers as Chunk4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk512x4(sbyte* w, short* x, int values, out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2, out Vector256<int> r3)
    {
        const int S = Q8Matrix.SliceBytes, Step = Q8Matrix.GroupRows * S;
        var a = Vector512.Load(x);
        var s0 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w)), a);
        var s1 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + S)), a);
        var s2 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 2 * S)), a);
        var s3 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 3 * S)), a);
        sbyte* v = w;
        for (int o = S; o < values; o += S)
        {
            v += Step;
            a = Vector512.Load(x + o);
            s0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(v)), a);
            s1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(v + S)), a);
            s2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(v + 2 * S)), a);
            s3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(v + 3 * S)), a);
        }
        r0 = s0.GetLower() + s0.GetUpper(); r1 = s1.GetLower() + s1.GetUpper();
        r2 = s2.GetLower() + s2.GetUpper(); r3 = s3.GetLower() + s3.GetUpper();
    }

    /// <summary>
    /// Chunk512x4 for two rows of activations (x and y) at once: each slice of weights is widened
    /// once for both. The same integers as two Chunk512x4 calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk512x4x2(sbyte* w, short* x, short* y, int values, out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2, out Vector256<int> r3,
        out Vector256<int> q0, out Vector256<int> q1, out Vector256<int> q2, out Vector256<int> q3)
    {
        const int S = Q8Matrix.SliceBytes, Step = Q8Matrix.GroupRows * S;
        Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default, t0 = default, t1 = default, t2 = default, t3 = default;
        sbyte* v = w;
        for (int o = 0; o < values; o += S, v += Step)
        {
            var a = Vector512.Load(x + o);
            var c = Vector512.Load(y + o);
            var w0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(v));
            var w1 = Avx512BW.ConvertToVector512Int16(Vector256.Load(v + S));
            var w2 = Avx512BW.ConvertToVector512Int16(Vector256.Load(v + 2 * S));
            var w3 = Avx512BW.ConvertToVector512Int16(Vector256.Load(v + 3 * S));
            s0 += Avx512BW.MultiplyAddAdjacent(w0, a); t0 += Avx512BW.MultiplyAddAdjacent(w0, c);
            s1 += Avx512BW.MultiplyAddAdjacent(w1, a); t1 += Avx512BW.MultiplyAddAdjacent(w1, c);
            s2 += Avx512BW.MultiplyAddAdjacent(w2, a); t2 += Avx512BW.MultiplyAddAdjacent(w2, c);
            s3 += Avx512BW.MultiplyAddAdjacent(w3, a); t3 += Avx512BW.MultiplyAddAdjacent(w3, c);
        }
        r0 = s0.GetLower() + s0.GetUpper(); r1 = s1.GetLower() + s1.GetUpper();
        r2 = s2.GetLower() + s2.GetUpper(); r3 = s3.GetLower() + s3.GetUpper();
        q0 = t0.GetLower() + t0.GetUpper(); q1 = t1.GetLower() + t1.GetUpper();
        q2 = t2.GetLower() + t2.GetUpper(); q3 = t3.GetLower() + t3.GetUpper();
    }

    /// <summary>One whole block: 8 int32 sums of 4 products each, the 32 int8 weights at w (sign-extended) times the 32 int16 activations x0, x1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Block<TD>(sbyte* w, Vector256<short> x0, Vector256<short> x1) where TD : struct, IInt8Dot =>
        TD.Next(TD.First(Avx2.ConvertToVector256Int16(w), x0), Avx2.ConvertToVector256Int16(w + 16), x1);

    /// <summary>How a group's chunk is multiplied: Chunk4 with one IInt8Dot, or Chunk512x4.</summary>
    private interface IChunkKernel
    {
        static abstract void Rows4(sbyte* w, short* x, int values, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3);
        /// <summary>Rows4 for two rows of activations, x and y.</summary>
        static abstract void Rows4x2(sbyte* w, short* x, short* y, int values, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3,
            out Vector256<int> t0, out Vector256<int> t1, out Vector256<int> t2, out Vector256<int> t3);
    }

    private struct NarrowChunks<TD> : IChunkKernel where TD : struct, IInt8Dot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows4(sbyte* w, short* x, int values, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3) =>
            Chunk4<TD>(w, x, values, out s0, out s1, out s2, out s3);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows4x2(sbyte* w, short* x, short* y, int values, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3,
            out Vector256<int> t0, out Vector256<int> t1, out Vector256<int> t2, out Vector256<int> t3)
        {
            Chunk4<TD>(w, x, values, out s0, out s1, out s2, out s3);
            Chunk4<TD>(w, y, values, out t0, out t1, out t2, out t3);
        }
    }

    private struct WideChunks : IChunkKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows4(sbyte* w, short* x, int values, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3) =>
            Chunk512x4(w, x, values, out s0, out s1, out s2, out s3);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows4x2(sbyte* w, short* x, short* y, int values, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3,
            out Vector256<int> t0, out Vector256<int> t1, out Vector256<int> t2, out Vector256<int> t3) =>
            Chunk512x4x2(w, x, y, values, out s0, out s1, out s2, out s3, out t0, out t1, out t2, out t3);
    }

    /// <summary>
    /// The integer multiply-add: int16 weights (sign-extended int8) times int16 activations,
    /// adjacent pairs summed into int32 lanes. First starts a sum, Next adds to one.
    /// </summary>
    private interface IInt8Dot
    {
        static abstract Vector256<int> First(Vector256<short> w, Vector256<short> x);
        static abstract Vector256<int> Next(Vector256<int> acc, Vector256<short> w, Vector256<short> x);
    }

    /// <summary>AVX-VNNI's VPDPWSSD: the pair products and the add in one instruction.</summary>
    private struct VnniDot : IInt8Dot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> First(Vector256<short> w, Vector256<short> x) => AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w, x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Next(Vector256<int> acc, Vector256<short> w, Vector256<short> x) => AvxVnni.MultiplyWideningAndAdd(acc, w, x);
    }

    /// <summary>AVX2's VPMADDWD, then VPADDD.</summary>
    private struct Avx2Dot : IInt8Dot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> First(Vector256<short> w, Vector256<short> x) => Avx2.MultiplyAddAdjacent(w, x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Next(Vector256<int> acc, Vector256<short> w, Vector256<short> x) => acc + Avx2.MultiplyAddAdjacent(w, x);
    }
}
