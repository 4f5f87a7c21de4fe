// Packing for the blocked GEMM: copies a block of op(A) or op(B) into the k-major micro-panels the
// micro-kernels read (see IGemmMicroKernel), widening f16/bf16 B to fp32 on the way so the
// micro-kernel only ever sees fp32 and half-precision weights cost nothing extra per FMA.
//   PackA: op(A)[i0 .. i0+mc, p0 .. p0+kc] -> micro-panels of mr rows (the last may be shorter),
//          panel p at dst + p * mr * kc, element (i, k) at panel[k * rows + i].
//   PackB: op(B)[p0 .. p0+kc, j0 .. j0+nc] -> panels of nr columns, panel q at dst + q * nr * kc,
//          element (k, j) at panel[k * nr + j], columns past nc zero-filled.
// op(A) is A [M, K] (row i at A + i*lda) or, when transA, Aᵀ of A [K, M]; op(B) is B [K, N] or,
// when transB, Bᵀ of B [N, K] (the nn.Linear weight layout).
// The layouts that need a transpose (A [M, K] into k-major panels; B [N, K] likewise) go through
// 16 × 16 register transposes on AVX-512 machines, and 8 × 8 ones on AVX2-only machines
// (GemmPacking256), and 4 × 4 ones where vectors are 128 bits (GemmPacking128: ARM64): a scalar
// transpose costs several times more than the vector one and would show up next to the
// micro-kernel. The scalar code below is the fallback without any of them. Every vector store is masked
// to the panel's width (PackA) or covers whole 16-column groups (PackB), so nothing outside the
// destination is written: threads may pack neighbouring row ranges of one buffer at once.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class GemmPacking
{
    private static bool Vector512Packing => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && !Force128;

    /// <summary>
    /// Whether the 128-bit packing runs: where neither the AVX-512 nor the AVX2 one does (ARM64),
    /// and on x86 when tests or benches ask (Force128).
    /// </summary>
    private static bool Vector128Packing => GemmPacking128.IsSupported && (Force128 || !GemmPacking256.IsSupported);
    /// <summary>Tests and benches set this to pack with GemmPacking128 on x86.</summary>
    internal static bool Force128;

    public static void PackA(bool transA, float* A, long lda, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        if (Vector512Packing && mr <= 16) { PackA512(transA, A, lda, i0, mc, p0, kc, mr, dst); return; }
        if (Vector128Packing && mr <= 8)
        {
            if (transA) PackATransposed<CopyOverlapping128>(A, lda, i0, mc, p0, kc, mr, dst);
            else GemmPacking128.PackA(A, lda, i0, mc, p0, kc, mr, dst);
            return;
        }
        if (GemmPacking256.IsSupported && mr <= 8)
        {
            if (transA) PackATransposed<CopyMasked256>(A, lda, i0, mc, p0, kc, mr, dst);
            else GemmPacking256.PackA(A, lda, i0, mc, p0, kc, mr, dst);
            return;
        }
        if (transA) { PackATransposed<CopyScalar>(A, lda, i0, mc, p0, kc, mr, dst); return; }
        for (int r0 = 0; r0 < mc; r0 += mr)
        {
            int rows = Math.Min(mr, mc - r0);
            {
                // A [M, K]: read each row contiguously and scatter with stride `rows`.
                for (int i = 0; i < rows; i++)
                {
                    float* src = A + (long)(i0 + r0 + i) * lda + p0;
                    float* d = dst + i;
                    for (int k = 0; k < kc; k++) d[(long)k * rows] = src[k];
                }
                dst += (long)rows * kc;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA512(bool transA, float* A, long lda, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        if (transA) { PackATransposed<CopyMasked512>(A, lda, i0, mc, p0, kc, mr, dst); return; }
        for (int r0 = 0; r0 < mc; r0 += mr, dst += (long)mr * kc)
        {
            int rows = Math.Min(mr, mc - r0);
            {
                long offset = (long)(i0 + r0) * lda + p0;
                int k = 0;
                var mask = RowMask(rows);
                for (; k + 16 <= kc; k += 16) Transpose16<WidenF32>(A, offset + k, lda, rows, dst + (long)k * rows, rows, mask);
                for (; k < kc; k++)
                    for (int i = 0; i < rows; i++) dst[(long)k * rows + i] = A[offset + i * lda + k];
            }
        }
    }

    /// <summary>
    /// PackA for A [K, M] (op(A) = Aᵀ, the weight gradient dyᵀ·x): the mr values of a panel at one
    /// k are contiguous in A, so each panel row is one short copy (TC). The order matters: walking
    /// one panel down all kc rows of A reads 56 bytes every lda floats (6 KB apart for M = 1536),
    /// a stride that Intel's prefetchers do not follow and that maps every row to the same few L1
    /// sets, so each panel re-fetched lines the previous one had just loaded. Instead, k goes in
    /// chunks of 16: within a chunk, every panel of the block is copied, so each of the 16 rows of
    /// A is read left to right across the whole block (sequential, 16 × mc floats stay in L1),
    /// and the next chunk's rows are prefetched while this one is copied.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackATransposed<TC>(float* A, long lda, int i0, int mc, int p0, int kc, int mr, float* dst) where TC : struct, ICopyPanelRow
    {
        const int Chunk = 16;
        for (int k0 = 0; k0 < kc; k0 += Chunk)
        {
            int k1 = Math.Min(kc, k0 + Chunk);
            for (int k = k1; k < Math.Min(kc, k1 + Chunk) && Sse.IsSupported; k++)
            {
                float* next = A + (long)(p0 + k) * lda + i0;
                for (int i = 0; i < mc; i += 16) Sse.Prefetch0(next + i);
            }
            for (int r0 = 0; r0 < mc; r0 += mr)
            {
                int rows = Math.Min(mr, mc - r0);
                float* panel = dst + (long)r0 * kc;
                float* src = A + (long)(p0 + k0) * lda + i0 + r0;
                for (int k = k0; k < k1; k++, src += lda) TC.Copy(src, panel + (long)k * rows, rows, (long)k * rows + 8 > (long)kc * rows);
            }
        }
    }

    /// <summary>
    /// Copies `rows` (≤ 16) floats of one panel row; reads nothing past them. Unless `atEnd`, it may
    /// write up to 8 floats from dst: the panel's next rows, which are written after it. `atEnd`:
    /// 8 floats from dst would run past the end of the panel.
    /// </summary>
    private interface ICopyPanelRow { static abstract void Copy(float* src, float* dst, int rows, bool atEnd); }

    private struct CopyScalar : ICopyPanelRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Copy(float* src, float* dst, int rows, bool atEnd) { for (int i = 0; i < rows; i++) dst[i] = src[i]; }
    }

    /// <summary>Up to 8 floats as two overlapping 4-float loads and stores (GemmPacking128; fewer than 4 one at a time): nothing outside the row is read or written.</summary>
    private struct CopyOverlapping128 : ICopyPanelRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Copy(float* src, float* dst, int rows, bool atEnd)
        {
            if (rows < 4) { for (int i = 0; i < rows; i++) dst[i] = src[i]; return; }
            Vector128<float> head = Vector128.Load(src), tail = Vector128.Load(src + rows - 4);
            head.Store(dst);
            tail.Store(dst + rows - 4);
        }
    }

    /// <summary>One masked 16-float load and store (reads stay inside the matrix, writes inside the panel).</summary>
    private struct CopyMasked512 : ICopyPanelRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Copy(float* src, float* dst, int rows, bool atEnd)
        {
            var mask = RowMask(rows);
            Avx512F.MaskStore(dst, mask, Avx512F.MaskLoad(src, mask, Vector512<float>.Zero));
        }
    }

    /// <summary>One masked 8-float load (AVX2); a plain 8-float store except at the panel's end (masked stores are slow on AMD).</summary>
    private struct CopyMasked256 : ICopyPanelRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Copy(float* src, float* dst, int rows, bool atEnd)
        {
            var mask = GemmPacking256.RowMask(rows);
            var x = Avx.MaskLoad(src, mask);
            if (atEnd) Avx.MaskStore(dst, mask, x);
            else x.Store(dst);
        }
    }

    /// <param name="scratch">kc floats, used by the scalar path to widen one row of a transposed half-precision B.</param>
    public static void PackB(bool transB, void* B, DType bType, long ldb, int p0, int kc, int j0, int nc, int nr, float* dst, float* scratch)
    {
        if (Vector512Packing && nr % 16 == 0)
        {
            switch (bType)
            {
                case DType.F32: PackB512<WidenF32>(transB, B, ldb, p0, kc, j0, nc, nr, dst); break;
                case DType.BF16: PackB512<WidenBF16>(transB, B, ldb, p0, kc, j0, nc, nr, dst); break;
                default:
                    if (WidenF16ByMultiply.Chosen) PackB512<WidenF16ByMultiply>(transB, B, ldb, p0, kc, j0, nc, nr, dst);
                    else PackB512<WidenF16>(transB, B, ldb, p0, kc, j0, nc, nr, dst);
                    break;
            }
            return;
        }
        if (Vector128Packing && nr % 4 == 0)
        {
            switch (bType)
            {
                case DType.F32: GemmPacking128.PackB<WidenF32>(transB, B, ldb, p0, kc, j0, nc, nr, dst); break;
                case DType.BF16: GemmPacking128.PackB<WidenBF16>(transB, B, ldb, p0, kc, j0, nc, nr, dst); break;
                default: GemmPacking128.PackB<WidenF16>(transB, B, ldb, p0, kc, j0, nc, nr, dst); break;
            }
            return;
        }
        if (GemmPacking256.IsSupported && nr % 8 == 0)
        {
            switch (bType)
            {
                case DType.F32: GemmPacking256.PackB<WidenF32>(transB, B, ldb, p0, kc, j0, nc, nr, dst); break;
                case DType.BF16: GemmPacking256.PackB<WidenBF16>(transB, B, ldb, p0, kc, j0, nc, nr, dst); break;
                default:
                    if (WidenF16ByMultiply.Chosen) GemmPacking256.PackB<WidenF16ByMultiply>(transB, B, ldb, p0, kc, j0, nc, nr, dst);
                    else GemmPacking256.PackB<WidenF16>(transB, B, ldb, p0, kc, j0, nc, nr, dst);
                    break;
            }
            return;
        }
        for (int q0 = 0; q0 < nc; q0 += nr, dst += (long)nr * kc)
        {
            int cols = Math.Min(nr, nc - q0);
            if (!transB)
            {
                // B [K, N]: row k of the panel is a contiguous run of `cols` elements.
                for (int k = 0; k < kc; k++)
                {
                    float* d = dst + (long)k * nr;
                    Widen(B, bType, (long)(p0 + k) * ldb + j0 + q0, cols, d);
                    for (int j = cols; j < nr; j++) d[j] = 0;
                }
            }
            else
            {
                // B [N, K]: column j of the panel is row j0+q0+j of B, contiguous in k; widen it
                // once, then scatter it down the panel with stride nr.
                for (int j = 0; j < cols; j++)
                {
                    long offset = (long)(j0 + q0 + j) * ldb + p0;
                    float* src = scratch;
                    if (bType == DType.F32) src = (float*)B + offset;
                    else Widen(B, bType, offset, kc, scratch);
                    float* d = dst + j;
                    for (int k = 0; k < kc; k++) d[(long)k * nr] = src[k];
                }
                for (int k = 0; k < kc; k++)
                    for (int j = cols; j < nr; j++) dst[(long)k * nr + j] = 0;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB512<TW>(bool transB, void* B, long ldb, int p0, int kc, int j0, int nc, int nr, float* dst) where TW : struct, IWidenB
    {
        if (!transB)
        {
            // B [K, N]: walk each row of the block once, left to right (one contiguous read from
            // memory), dropping it into the panels; the partial last panel is zero-padded.
            for (int k = 0; k < kc; k++)
            {
                long offset = (long)(p0 + k) * ldb + j0;
                float* d = dst + (long)k * nr;
                for (int q0 = 0; q0 < nc; q0 += nr, d += (long)nr * kc)
                {
                    int cols = Math.Min(nr, nc - q0), j = 0;
                    for (; j + 16 <= cols; j += 16) TW.Load(B, offset + q0 + j).Store(d + j);
                    for (; j < cols; j++) d[j] = TW.Scalar(B, offset + q0 + j);
                    for (; j < nr; j++) d[j] = 0;
                }
            }
            return;
        }
        for (int q0 = 0; q0 < nc; q0 += nr, dst += (long)nr * kc)
        {
            int cols = Math.Min(nr, nc - q0);
            // B [N, K]: 16 rows of B (= 16 panel columns) × 16 k at a time; missing rows come out
            // as zeros. The rows are read in 64-byte steps, 16 streams at once, which the hardware
            // prefetcher follows poorly from DRAM, so each step also asks for the data 64 k ahead.
            for (int g = 0; g < nr; g += 16)
            {
                int rows = Math.Clamp(cols - g, 0, 16);
                long offset = (long)(j0 + q0 + g) * ldb + p0;
                int k = 0;
                for (; k + 16 <= kc; k += 16)
                {
                    for (int r = 0; r < rows; r++) TW.Prefetch(B, offset + r * ldb + k + 64);
                    Transpose16<TW>(B, offset + k, ldb, rows, dst + (long)k * nr + g, nr, Vector512<float>.AllBitsSet);
                }
                for (; k < kc; k++)
                    for (int j = 0; j < 16; j++) dst[(long)k * nr + g + j] = j < rows ? TW.Scalar(B, offset + j * ldb + k) : 0;
            }
        }
    }

    /// <summary>
    /// dst[kk * dstStride + i] = fp32 of src[offset + i * stride + kk] for i < rows (0 for rows ≤ i < 16), kk < 16.
    /// Each output row is one store of the lanes in storeMask (the first `rows` when dstStride is
    /// `rows`, all 16 when dstStride ≥ 16), so nothing outside the destination rows is written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // too big to inline; a call per 256 elements is cheap
    private static void Transpose16<TW>(void* src, long offset, long stride, int rows, float* dst, long dstStride, Vector512<float> storeMask) where TW : struct, IWidenB
    {
        // Rows of the source, missing ones zero.
        var r0 = rows > 0 ? TW.Load(src, offset + 0 * stride) : Vector512<float>.Zero;
        var r1 = rows > 1 ? TW.Load(src, offset + 1 * stride) : Vector512<float>.Zero;
        var r2 = rows > 2 ? TW.Load(src, offset + 2 * stride) : Vector512<float>.Zero;
        var r3 = rows > 3 ? TW.Load(src, offset + 3 * stride) : Vector512<float>.Zero;
        var r4 = rows > 4 ? TW.Load(src, offset + 4 * stride) : Vector512<float>.Zero;
        var r5 = rows > 5 ? TW.Load(src, offset + 5 * stride) : Vector512<float>.Zero;
        var r6 = rows > 6 ? TW.Load(src, offset + 6 * stride) : Vector512<float>.Zero;
        var r7 = rows > 7 ? TW.Load(src, offset + 7 * stride) : Vector512<float>.Zero;
        var r8 = rows > 8 ? TW.Load(src, offset + 8 * stride) : Vector512<float>.Zero;
        var r9 = rows > 9 ? TW.Load(src, offset + 9 * stride) : Vector512<float>.Zero;
        var r10 = rows > 10 ? TW.Load(src, offset + 10 * stride) : Vector512<float>.Zero;
        var r11 = rows > 11 ? TW.Load(src, offset + 11 * stride) : Vector512<float>.Zero;
        var r12 = rows > 12 ? TW.Load(src, offset + 12 * stride) : Vector512<float>.Zero;
        var r13 = rows > 13 ? TW.Load(src, offset + 13 * stride) : Vector512<float>.Zero;
        var r14 = rows > 14 ? TW.Load(src, offset + 14 * stride) : Vector512<float>.Zero;
        var r15 = rows > 15 ? TW.Load(src, offset + 15 * stride) : Vector512<float>.Zero;
        // 32-bit interleave of row pairs, then 64-bit interleave: u[4g + c] lane l = column 4l + c, rows 4g..4g+3.
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);
        var u0 = Lo64(t0, t2); var u1 = Hi64(t0, t2); var u2 = Lo64(t1, t3); var u3 = Hi64(t1, t3);
        var u4 = Lo64(t4, t6); var u5 = Hi64(t4, t6); var u6 = Lo64(t5, t7); var u7 = Hi64(t5, t7);
        var u8 = Lo64(t8, t10); var u9 = Hi64(t8, t10); var u10 = Lo64(t9, t11); var u11 = Hi64(t9, t11);
        var u12 = Lo64(t12, t14); var u13 = Hi64(t12, t14); var u14 = Lo64(t13, t15); var u15 = Hi64(t13, t15);
        // 128-bit lane shuffles gather each column's four row groups into one vector.
        var v0a = Avx512F.Shuffle4x128(u0, u4, 0x88); var v0b = Avx512F.Shuffle4x128(u0, u4, 0xDD);
        var w0a = Avx512F.Shuffle4x128(u8, u12, 0x88); var w0b = Avx512F.Shuffle4x128(u8, u12, 0xDD);
        var v1a = Avx512F.Shuffle4x128(u1, u5, 0x88); var v1b = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        var w1a = Avx512F.Shuffle4x128(u9, u13, 0x88); var w1b = Avx512F.Shuffle4x128(u9, u13, 0xDD);
        var v2a = Avx512F.Shuffle4x128(u2, u6, 0x88); var v2b = Avx512F.Shuffle4x128(u2, u6, 0xDD);
        var w2a = Avx512F.Shuffle4x128(u10, u14, 0x88); var w2b = Avx512F.Shuffle4x128(u10, u14, 0xDD);
        var v3a = Avx512F.Shuffle4x128(u3, u7, 0x88); var v3b = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        var w3a = Avx512F.Shuffle4x128(u11, u15, 0x88); var w3b = Avx512F.Shuffle4x128(u11, u15, 0xDD);
        Avx512F.MaskStore(dst + 0 * dstStride, storeMask, Avx512F.Shuffle4x128(v0a, w0a, 0x88));
        Avx512F.MaskStore(dst + 1 * dstStride, storeMask, Avx512F.Shuffle4x128(v1a, w1a, 0x88));
        Avx512F.MaskStore(dst + 2 * dstStride, storeMask, Avx512F.Shuffle4x128(v2a, w2a, 0x88));
        Avx512F.MaskStore(dst + 3 * dstStride, storeMask, Avx512F.Shuffle4x128(v3a, w3a, 0x88));
        Avx512F.MaskStore(dst + 4 * dstStride, storeMask, Avx512F.Shuffle4x128(v0b, w0b, 0x88));
        Avx512F.MaskStore(dst + 5 * dstStride, storeMask, Avx512F.Shuffle4x128(v1b, w1b, 0x88));
        Avx512F.MaskStore(dst + 6 * dstStride, storeMask, Avx512F.Shuffle4x128(v2b, w2b, 0x88));
        Avx512F.MaskStore(dst + 7 * dstStride, storeMask, Avx512F.Shuffle4x128(v3b, w3b, 0x88));
        Avx512F.MaskStore(dst + 8 * dstStride, storeMask, Avx512F.Shuffle4x128(v0a, w0a, 0xDD));
        Avx512F.MaskStore(dst + 9 * dstStride, storeMask, Avx512F.Shuffle4x128(v1a, w1a, 0xDD));
        Avx512F.MaskStore(dst + 10 * dstStride, storeMask, Avx512F.Shuffle4x128(v2a, w2a, 0xDD));
        Avx512F.MaskStore(dst + 11 * dstStride, storeMask, Avx512F.Shuffle4x128(v3a, w3a, 0xDD));
        Avx512F.MaskStore(dst + 12 * dstStride, storeMask, Avx512F.Shuffle4x128(v0b, w0b, 0xDD));
        Avx512F.MaskStore(dst + 13 * dstStride, storeMask, Avx512F.Shuffle4x128(v1b, w1b, 0xDD));
        Avx512F.MaskStore(dst + 14 * dstStride, storeMask, Avx512F.Shuffle4x128(v2b, w2b, 0xDD));
        Avx512F.MaskStore(dst + 15 * dstStride, storeMask, Avx512F.Shuffle4x128(v3b, w3b, 0xDD));
    }


    /// <summary>Lanes 0..rows-1 set: stores that write exactly one row of a `rows`-wide panel.</summary>
    private static Vector512<float> RowMask(int rows) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(rows)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lo64(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Hi64(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle();

    /// <summary>dst[0..n) = fp32 of B's elements [offset, offset+n) in B's dtype (scalar-path helper).</summary>
    public static void Widen(void* B, DType bType, long offset, int n, float* dst)
    {
        switch (bType)
        {
            case DType.F32:
                Buffer.MemoryCopy((float*)B + offset, dst, (long)n * 4, (long)n * 4);
                break;
            case DType.BF16:
                for (int i = 0; i < n; i++) dst[i] = BitConverter.Int32BitsToSingle(((ushort*)B)[offset + i] << 16);
                break;
            default:
                for (int i = 0; i < n; i++) dst[i] = DTypes.F16ToF32(((ushort*)B)[offset + i]);
                break;
        }
    }
}
