// The engine is meant to compute the same bits whatever vectors the CPU has: every kernel that a
// training step runs has one order of operations per output element, and the layouts that hold
// the lanes (Vector256 on AVX2, Vector128 on ARM64) only change how many are done at once. The
// unit tests compare each kernel's layouts; this one checks the whole of a training step at once,
// the way a user would see a difference: `lethe train` in a child process with the CPU's own
// vectors and with DOTNET_PreferredVectorBitWidth=128, under which .NET reports Vector256 as not
// accelerated and the engine takes the paths it takes on 64-bit ARM (the 128-bit GEMM kernel and
// packing, Floats16Quad, Lanes128x2, AdamW's 4-lane loop). Both must write the same weights, byte
// for byte. Before RowSums they differed in the last bits (docs/engine-gemm.md, "64-bit ARM").
// On an AVX-512 machine it is not run: there the default paths include AVX-512 ones that this
// comparison was never made for (no AVX-512 machine was at hand when it was written).
using System.Runtime.Intrinsics;
using Lethe.Tests.Serving;
using Xunit;

namespace Lethe.Tests.Engine;

public class VectorWidthTrainingTests
{
    [Fact]
    public void TrainingWritesTheSameWeightsWithArm64sVectorWidth()
    {
        if (Vector512.IsHardwareAccelerated || !Vector256.IsHardwareAccelerated) return; // compared on AVX2 machines only (see above)
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
            var native = Train("native", null);
            var narrow = Train("vector128", new Dictionary<string, string> { ["DOTNET_PreferredVectorBitWidth"] = "128" });
            Assert.Equal(native.Length, narrow.Length);
            int first = native.AsSpan().CommonPrefixLength(narrow);
            Assert.True(first == native.Length, $"the weights differ from byte {first} of {native.Length} between AVX2 and 128-bit vectors");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
