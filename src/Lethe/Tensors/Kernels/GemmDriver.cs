// The blocked GEMM loop nest (the Goto/BLIS scheme) around one micro-kernel TK:
//   (when op(A) is small enough and several column blocks or threads need it: pack it once, up
//    front; column-split threads share one buffer that they pack together, see Multiply)
//   for each NC-wide column block      (B block KC × NC packed once, reused by every row block)
//     for each KC-deep k block         (in order: the k-order per element never changes)
//       pack op(B)[k block, column block]   (widening f16/bf16 -> fp32)
//       for each MC-tall row block     (packed A block stays in L2)
//         pack op(A)[row block, k block]   (unless packed up front)
//         for each NR panel, for each MR micro-panel: TK.Run (the KC × NR B micro-panel is
//                                            reused by every row tile while it is in L1/L2)
// Threads get coarse static chunks of whole NR column panels (or MR row panels when N is narrow),
// each running the full loop nest on its own chunk with its own B pack buffers; every element of C
// has one writer and an accumulation order fixed by K and KC alone, so 1 and 2 threads give the
// same bits.
using System.Runtime.CompilerServices;

namespace Lethe.Tensors.Kernels;

internal static unsafe class GemmDriver<TK> where TK : struct, IGemmMicroKernel
{
    public static void Multiply(bool transA, bool transB, int M, int N, int K,
        float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate)
    {
        int nr = TK.NR, mr = TK.MR;
        int colPanels = (N + nr - 1) / nr, rowPanels = (M + mr - 1) / mr;
        int threads = 2.0 * M * N * K < GemmBlocking.MinParallelFlops ? 1 : Engine.Threads;
        var job = new Job(transA, transB, M, K, A, lda, B, bType, ldb, C, ldc, accumulate);
        if (threads == 1 || (colPanels < 2 && rowPanels < 2))
            job.Block(0, M, 0, N, null);
        else if (colPanels >= 4 * threads || colPanels >= rowPanels)
        {
            // Column chunks all need all of op(A). When a chunk is one column block of at least
            // OwnPackMinColumns columns, each thread packs its own A blocks as it goes: op(A) is
            // packed once per thread, but each block is read from L2 right after it was written,
            // where a shared buffer's blocks came from L3 or memory (1024³ on two threads of Zen 4:
            // the kernel 76-99 GFLOP/s a thread with the shared buffer, 105-106 without;
            // docs/engine-gemm.md, twentieth session). Otherwise, when op(A) is small enough, the
            // threads pack it together, once, into one shared buffer (each packs a range of row
            // panels; PackA ends each panel exactly, so the ranges do not touch), then each
            // computes its columns.
            float* sharedA = null;
            long aFloats = (long)M * K;
            int chunkColumns = (colPanels + threads - 1) / threads * nr;
            bool ownBlocks = chunkColumns <= ColumnBlock && chunkColumns >= GemmBlocking.OwnPackMinColumns;
            if (!ownBlocks && aFloats >= GemmBlocking.SharedPackMinFloats && aFloats <= GemmBlocking.PackAOnceFloats)
            {
                Interlocked.Increment(ref GemmBlocking.SharedAPackings);
                sharedA = GemmBuffers.ForThread().SharedA((long)M * K);
                Engine.For(rowPanels, 1, (s, e) => job.PackAllA(s * mr, Math.Min(e * mr, M), sharedA));
            }
            Engine.For(colPanels, 1, (s, e) => job.Block(0, M, s * nr, Math.Min(e * nr, N), sharedA));
        }
        else
            Engine.For(rowPanels, 1, (s, e) => job.Block(s * mr, Math.Min(e * mr, M), 0, N, null));
    }

    /// <summary>Columns of C per packed B block: NC rounded down to whole NR panels (at least one).</summary>
    private static int ColumnBlock => Math.Max(TK.NR, GemmBlocking.NC / TK.NR * TK.NR);

    private sealed class Job(bool transA, bool transB, int M, int K,
        float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate)
    {
        /// <summary>
        /// Packs rows r0..r1 of op(A) (r0 a multiple of MR) for every k block into `all`, laid out
        /// as k block after k block, each holding all M rows in PackA's layout: k block pc starts
        /// at all + M * pc, and the micro-panel of rows r..r+MR within it at + r * kc.
        /// </summary>
        public void PackAllA(int r0, int r1, float* all)
        {
            long t0 = GemmProfile.Enabled ? GemmProfile.ThreadNs() : 0;
            int kcMax = GemmBlocking.BlockDepth(K);
            for (int pc = 0; pc < K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, K - pc);
                GemmPacking.PackA(transA, A, lda, r0, r1 - r0, pc, kc, TK.MR, all + (long)M * pc + (long)r0 * kc);
            }
            if (GemmProfile.Enabled) GemmProfile.AddPackA(GemmProfile.ThreadNs() - t0);
        }

        /// <summary>
        /// C[m0..m1, n0..n1] (+)= op(A)[m0..m1, :] · op(B)[:, n0..n1]. sharedA, when given, is all
        /// of op(A) already packed by PackAllA (then m0 = 0 and m1 = M).
        /// </summary>
        public void Block(int m0, int m1, int n0, int n1, float* sharedA)
        {
            int nr = TK.NR, mr = TK.MR;
            int kcMax = GemmBlocking.BlockDepth(K);
            int mcMax = Math.Max(mr, GemmBlocking.MC / mr * mr);
            int ncMax = ColumnBlock;
            int ncCap = Math.Min(ncMax, (n1 - n0 + nr - 1) / nr * nr);
            var buffers = GemmBuffers.ForThread();
            bool profile = GemmProfile.Enabled;
            long t0 = profile ? GemmProfile.ThreadNs() : 0, t1;
            // With several column blocks, the same A blocks would be packed again for each one;
            // when this chunk's whole op(A) is small enough, pack it once up front instead.
            float* packedA = sharedA;
            bool packedUpFront = sharedA != null;
            if (!packedUpFront && n1 - n0 > ncMax && (long)(m1 - m0) * K <= GemmBlocking.PackAOnceFloats)
            {
                packedA = buffers.A((long)(m1 - m0) * K);
                for (int pc = 0; pc < K; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, K - pc);
                    GemmPacking.PackA(transA, A, lda, m0, m1 - m0, pc, kc, mr, packedA + (long)(m1 - m0) * pc);
                }
                packedUpFront = true;
            }
            else if (!packedUpFront)
                packedA = buffers.A((long)Math.Min(mcMax, m1 - m0) * kcMax);
            float* packedB = buffers.B((long)ncCap * kcMax);
            float* tile = buffers.Tile(mr * nr);
            float* row = buffers.Row(kcMax);
            if (profile) { t1 = GemmProfile.ThreadNs(); GemmProfile.AddPackA(t1 - t0); t0 = t1; }

            for (int jc = n0; jc < n1; jc += ncMax)
            {
                int nc = Math.Min(ncMax, n1 - jc);
                for (int pc = 0; pc < K; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, K - pc);
                    bool add = accumulate || pc > 0;
                    GemmPacking.PackB(transB, B, bType, ldb, pc, kc, jc, nc, nr, packedB, row);
                    if (profile) { t1 = GemmProfile.ThreadNs(); GemmProfile.AddPackB(t1 - t0); t0 = t1; }
                    for (int ic = m0; ic < m1; ic += mcMax)
                    {
                        int mc = Math.Min(mcMax, m1 - ic);
                        float* blockA;
                        if (packedUpFront) blockA = packedA + (long)(m1 - m0) * pc + (long)(ic - m0) * kc;
                        else
                        {
                            GemmPacking.PackA(transA, A, lda, ic, mc, pc, kc, mr, blockA = packedA);
                            if (profile) { t1 = GemmProfile.ThreadNs(); GemmProfile.AddPackA(t1 - t0); t0 = t1; }
                        }
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int cols = Math.Min(nr, nc - jr);
                            float* panelB = packedB + (long)jr * kc;
                            for (int ir = 0; ir < mc; ir += mr)
                            {
                                int rows = Math.Min(mr, mc - ir);
                                float* panelA = blockA + (long)ir * kc;
                                float* c = C + (ic + ir) * ldc + jc + jr;
                                if (cols == nr) TK.Run(rows, kc, panelA, panelB, c, ldc, add);
                                else EdgeTile(rows, cols, kc, panelA, panelB, c, add, tile);
                            }
                        }
                        if (profile) { t1 = GemmProfile.ThreadNs(); GemmProfile.AddKernel(t1 - t0); t0 = t1; }
                    }
                }
            }
        }

        /// <summary>A tile cut by the right edge of C: compute all NR columns into scratch, keep `cols`.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void EdgeTile(int rows, int cols, int kc, float* panelA, float* panelB, float* c, bool add, float* tile)
        {
            int nr = TK.NR;
            TK.Run(rows, kc, panelA, panelB, tile, nr, false);
            for (int i = 0; i < rows; i++)
            {
                float* dst = c + i * ldc, src = tile + i * nr;
                if (add) for (int j = 0; j < cols; j++) dst[j] += src[j];
                else for (int j = 0; j < cols; j++) dst[j] = src[j];
            }
        }
    }
}
