// The plain GEMM every fast path is tested against: C[M,N] (+)= op(A)·op(B), accumulated in double.
// Layouts (row-major): A is [M,K], or [K,M] when transA; B is [K,N], or [N,K] when transB (the
// nn.Linear weight layout). B may be f32, f16 or bf16 (widened to fp32 on read).
namespace Lethe.Tensors.Kernels;

internal static unsafe class GemmReference
{
    public static void Multiply(bool transA, bool transB, int M, int N, int K,
        float* A, int lda, void* B, DType bType, int ldb, float* C, int ldc, bool accumulate)
    {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double acc = 0;
                for (int k = 0; k < K; k++)
                {
                    float a = transA ? A[(long)k * lda + i] : A[(long)i * lda + k];
                    long bIndex = transB ? (long)j * ldb + k : (long)k * ldb + j;
                    acc += (double)a * ReadB(B, bType, bIndex);
                }
                float* c = C + (long)i * ldc + j;
                *c = accumulate ? (float)(*c + acc) : (float)acc;
            }
    }

    internal static float ReadB(void* B, DType t, long i) => t switch
    {
        DType.F32 => ((float*)B)[i],
        DType.F16 => DTypes.F16ToF32(((ushort*)B)[i]),
        _ => DTypes.BF16ToF32(((ushort*)B)[i]),
    };
}
