// The engine is meant to compute the same bits whatever vectors the CPU has: every kernel that a
// training step runs has one order of operations per output element, and the layouts that hold
// the lanes (Vector256 on AVX2, Vector128 on ARM64) only change how many are done at once. The
// unit tests compare each kernel's layouts; this one checks the whole of a training step at once,
// the way a user would see a difference: `lethe train` in a child process with the CPU's own
// vectors and with DOTNET_PreferredVectorBitWidth=128, under which .NET reports Vector256 as not
// accelerated and the engine takes the paths it takes on 64-bit ARM (the 128-bit GEMM kernel and
// packing, Floats16Quad, Lanes128x2, AdamW's 4-lane loop). Both must write the same weights, byte
// for byte. Before RowSums they differed in the last bits (docs/engine-gemm.md, "64-bit ARM").
// On an AVX-512 machine a third child runs with DOTNET_EnableAVX512=0 (the AVX2 paths: the 6 × 16
// GEMM tile, two Vector256 for the fused ops), so all three layouts are compared there; first
// checked by hand on Zen 4 on 2026-12-07 (byte-identical).
using System.Runtime.Intrinsics;
using Lethe.Tests.Serving;
using Xunit;

namespace Lethe.Tests.Engine;

public class VectorWidthTrainingTests
{
    [Fact]
    public void TrainingWritesTheSameWeightsWithArm64sVectorWidth()
    {
        if (!Vector256.IsHardwareAccelerated) return; // the 128-bit run would be the native one
        string dir = Path.Combine(Path.GetTempPath(), "lethe-width-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string data = Path.Combine(dir, "data.txt");
            var docs = Enumerable.Range(0, 24).Select(i =>
                $"Document {i}. Tom has {i + 3} apples and buys {2 * i + 1} more, so he has {3 * i + 4} apples. The river runs past the old mill, and the miller counts {i * 7} sacks of flour.");
            File.WriteAllText(data, string.Join("\n\n", docs));
            byte[] Train(string name, IReadOnlyDictionary<string, string>? env)
            {
                string output = Path.Combine(dir, name);
                var (code, stdout, stderr) = ExternalProcess.Run("dotnet",
                    new[] { Path.Combine(AppContext.BaseDirectory, "Lethe.Cli.dll"), "train", ServerFixture.ModelPath, "--data", data, "--out", output,
                        "--steps", "2", "--batch-size", "2", "--seq-len", "32", "--seed", "3", "--threads", "2", "-q" },
                    TimeSpan.FromMinutes(5), "this test", env: env);
                Assert.True(code == 0, $"lethe train ({name}) failed with {code}: {stderr}{stdout}");
                return File.ReadAllBytes(Path.Combine(output, "model", "model.safetensors"));
            }
            string nativeName = Vector512.IsHardwareAccelerated ? "AVX-512" : "AVX2";
            var native = Train("native", null);
            void AssertSame(byte[] other, string otherName)
            {
                Assert.Equal(native.Length, other.Length);
                int first = native.AsSpan().CommonPrefixLength(other);
                Assert.True(first == native.Length, $"the weights differ from byte {first} of {native.Length} between {nativeName} and {otherName}");
            }
            AssertSame(Train("vector128", new Dictionary<string, string> { ["DOTNET_PreferredVectorBitWidth"] = "128" }), "128-bit vectors");
            if (Vector512.IsHardwareAccelerated)
                AssertSame(Train("avx2", new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" }), "AVX2 (DOTNET_EnableAVX512=0)");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
