// The GEMM peer: OpenBLAS (Debian's libopenblas0-pthread) loaded into this process with
// NativeLibrary and called through unmanaged function pointers, so both sides run on the same
// data, threads and machine. OpenBLAS picks its kernels when the library loads, from
// OPENBLAS_CORETYPE; on this CPU the default detection is not the SkylakeX kernels the project's
// performance notes compare against, so the variable must reach the native environment before
// the load. .NET's Environment.SetEnvironmentVariable only changes the managed copy on Unix, so
// we also call libc setenv, check openblas_get_corename() after loading, and if it still is not
// SkylakeX, re-run this process with the variable set (EnsureCoreType).
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Lethe.Bench;

public sealed unsafe class OpenBlas
{
    /// <summary>
    /// OpenBLAS's AVX-512 kernels where the CPU has AVX-512 (its detection misreads the Zen 4 and
    /// Xeon VMs seen so far), else its AVX2 ones (Haswell): SkylakeX on an AVX2-only CPU dies of an
    /// illegal instruction.
    /// </summary>
    public static readonly string WantedCore = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "SkylakeX" : "Haswell";
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm;
    private readonly delegate* unmanaged<int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemv;
    private readonly delegate* unmanaged<int, void> setNumThreads;

    public string CoreName { get; }
    public string Config { get; }
    public string Path { get; }

    private OpenBlas(nint lib, string path)
    {
        Path = path;
        sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(lib, "cblas_sgemm");
        sgemv = (delegate* unmanaged<int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(lib, "cblas_sgemv");
        setNumThreads = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(lib, "openblas_set_num_threads");
        var coreName = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(lib, "openblas_get_corename");
        var config = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(lib, "openblas_get_config");
        CoreName = Marshal.PtrToStringUTF8((nint)coreName()) ?? "";
        Config = Marshal.PtrToStringUTF8((nint)config()) ?? "";
    }

    /// <summary>"openblas-0.3.21" from the config string.</summary>
    public string Version
    {
        get
        {
            var parts = Config.Split(' ');
            return parts.Length > 1 && parts[0] == "OpenBLAS" ? $"openblas-{parts[1]}" : "openblas";
        }
    }

    public int Threads { set => setNumThreads(value); }

    /// <summary>C [M, N] = op(A) · op(B), row-major, the same layouts as Gemm.Multiply with f32 B.</summary>
    public void Sgemm(bool transA, bool transB, int M, int N, int K, float* A, int lda, float* B, int ldb, float* C, int ldc) =>
        sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, M, N, K, 1f, A, lda, B, ldb, 0f, C, ldc);

    /// <summary>y [rows] = W [rows, cols] · x [cols].</summary>
    public void Sgemv(int rows, int cols, float* W, int ldw, float* x, float* y) =>
        sgemv(RowMajor, NoTrans, rows, cols, 1f, W, ldw, x, 1, 0f, y, 1);

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    private static readonly string[] Candidates = { "libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/libopenblas.so.0" };

    /// <summary>Loads OpenBLAS with OPENBLAS_CORETYPE set; null (with the reason) when it is not installed.</summary>
    public static OpenBlas? TryLoad(out string? problem)
    {
        if (Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is null)
        {
            Environment.SetEnvironmentVariable("OPENBLAS_CORETYPE", WantedCore);
            try { SetEnv("OPENBLAS_CORETYPE", WantedCore, 1); } catch (DllNotFoundException) { } catch (EntryPointNotFoundException) { }
        }
        foreach (var path in Candidates)
            if (NativeLibrary.TryLoad(path, out nint lib))
            {
                problem = null;
                try { return new OpenBlas(lib, path); }
                catch (EntryPointNotFoundException e) { problem = $"{path} lacks {e.Message}"; return null; }
            }
        problem = "libopenblas.so.0 not found (install Debian's libopenblas0-pthread)";
        return null;
    }

    /// <summary>
    /// If the loaded OpenBLAS did not take OPENBLAS_CORETYPE (it runs the wrong kernels), re-runs
    /// this program with the variable in its environment and returns that run's exit code; null
    /// when this process can go on.
    /// </summary>
    public static int? EnsureCoreType(OpenBlas? blas, string[] argsForRerun)
    {
        if (blas is null || blas.CoreName.Equals(WantedCore, StringComparison.OrdinalIgnoreCase)) return null;
        if (Environment.GetEnvironmentVariable("LETHE_BENCH_RERUN") == "1") return null; // tried once already
        var start = BenchProcess.Start(argsForRerun, redirectOutput: false);
        start.Environment["OPENBLAS_CORETYPE"] = WantedCore;
        start.Environment["LETHE_BENCH_RERUN"] = "1";
        using var child = Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }
}
