// `--kv-cache` on the inference verbs: generate runs with a bf16 or f16 cache, and its greedy
// continuation of a short prompt on the shipped model is the fp32 cache's (the prompt's own
// attention is fp32 either way, and a few rounded keys do not move the argmax here); an unknown
// type or q8_0 is refused with a message before the model loads.
using Lethe.Experiments;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Cli;

public class KvCacheCliTests
{
    [Fact]
    public void GenerateRunsWithAHalfPrecisionCache()
    {
        string[] Args(string kv) => ["generate", ShippedModel.Find(), "--prompt", "Question: what is 3 + 4?", "--max-new-tokens", "6", "--temperature", "0", "--kv-cache", kv, "-q"];
        var (rc, f32, err) = Run(Args("f32"));
        Assert.True(rc == 0, err);
        Assert.NotEqual("", f32.Trim());
        foreach (var kv in new[] { "bf16", "f16" })
        {
            var (code, text, message) = Run(Args(kv));
            Assert.True(code == 0, message);
            Assert.Equal(f32, text);
        }
    }

    [Theory]
    [InlineData("q8_0", "q8_0 is for weights")]
    [InlineData("int4", "'int4' is not a cache type; use f32, bf16 or f16")]
    public void AnUnknownCacheTypeIsRefused(string kv, string expected)
    {
        var (rc, _, err) = Run("generate", ShippedModel.Find(), "--prompt", "a", "--max-new-tokens", "2", "--kv-cache", kv);
        Assert.Equal(1, rc);
        Assert.Contains(expected, err);
    }
}
