// Fuzz-style robustness of the GGUF reader, like SafeTensorsFuzzTests: two valid files (a tiny
// Llama written by Lethe with its tokenizer, and the quantized-block fixture) are mutated thousands
// of times with a fixed seed — bit flips, byte overwrites, truncation, appended bytes, and 8-byte
// overwrites of header words with hostile values (which hit counts, string and array lengths,
// dimensions, type codes and offsets) — and every outcome must be a clean load (model, tokenizer
// and every tensor readable) or a LetheException naming the file: never another exception, a hang,
// or an allocation out of proportion to the file.
using Lethe.IO.Gguf;
using Lethe.Models;
using Lethe.Tokenizers;
using Xunit;
using Xunit.Abstractions;

namespace Lethe.Tests.IO;

public class GgufFuzzTests(ITestOutputHelper output)
{
    private const int Mutations = 2000;

    [Fact]
    public void EveryMutationLoadsCleanlyOrFailsWithALetheException()
    {
        using var dir = new TempFolder();
        string tiny = dir.File("tiny.gguf");
        GgufConvert.Run(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"), tiny, ConvertTarget.Gguf, "f16");
        var bases = new[] { File.ReadAllBytes(tiny), File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "gguf", "quant_blocks.gguf")) };
        var headerEnds = bases.Select((_, i) => { using var f = GgufFile.Open(i == 0 ? tiny : Path.Combine(AppContext.BaseDirectory, "fixtures", "gguf", "quant_blocks.gguf")); return (int)f.DataStart; }).ToArray();
        var rng = new Random(20261203);
        var (loaded, rejected, kinds, elapsed) = FuzzHarness.Run(dir, ".gguf", Mutations,
            (int i, out string description) => Mutate(bases[i % 2], headerEnds[i % 2], rng, out description), (path, _) => Exercise(path), 16 << 20);
        output.WriteLine($"{Mutations} mutations: {loaded} loaded, {rejected} rejected, {elapsed.TotalSeconds:F2} s; kinds: {string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value}"))}");
        Assert.True(loaded > Mutations / 20, $"only {loaded} mutants loaded ({rejected} rejected)");
        Assert.True(rejected > Mutations / 4, $"only {rejected} mutants rejected ({loaded} loaded)");
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"{Mutations} mutations took {elapsed.TotalSeconds:F1} s");
        Assert.True(kinds.Count >= 5, "mutation kinds used: " + string.Join(", ", kinds.Keys));
    }

    /// <summary>Reads what the model loader and tokenizer would read.</summary>
    private static void Exercise(string path)
    {
        using (var f = GgufFile.Open(path))
        {
            foreach (var t in f.Tensors)
            {
                Assert.True(t.FileOffset >= f.DataStart && t.FileOffset + t.ByteCount <= new FileInfo(path).Length, $"{t.Name} lies outside the file");
                _ = f.ReadF32(t);
            }
            if (f.Metadata.OptionalString("general.architecture") != "llama") return;
        }
        using var m = ModelLoader.Load(path);
        var tokenizer = Tokenizer.Load(path);
        _ = tokenizer.Decode(tokenizer.Encode("hello world", true));
    }

    private static byte[] Mutate(byte[] original, int headerEnd, Random rng, out string description)
    {
        int kind = rng.Next(8);
        if (kind < FuzzHarness.ByteMutationKinds) return FuzzHarness.ByteMutation(original, kind, 0, headerEnd, rng, out description);
        var b = (byte[])original.Clone();
        switch (kind)
        {
            default:
            {
                // An 8-byte word anywhere in the header set to a hostile value: hits counts, lengths, dims, offsets.
                int at = rng.Next(Math.Max(1, headerEnd - 8));
                ulong value = rng.Next(6) switch
                {
                    0 => 1_000_000_000UL,
                    1 => ulong.MaxValue - (ulong)rng.Next(16),
                    2 => (ulong)rng.NextInt64(),
                    3 => (ulong)rng.Next(0, 64),
                    4 => 1UL << rng.Next(64),
                    _ => (ulong)(uint)rng.Next(),
                };
                BitConverter.GetBytes(value).CopyTo(b, at);
                description = $"word {at}={value}";
                return b;
            }
        }
    }
}
