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
        var b = (byte[])original.Clone();
        switch (rng.Next(8))
        {
            case 0:
            {
                int flips = rng.Next(1, 9);
                for (int k = 0; k < flips; k++) { int i = rng.Next(b.Length); b[i] ^= (byte)(1 << rng.Next(8)); }
                description = $"bitflip x{flips} anywhere";
                return b;
            }
            case 1:
            {
                int i = rng.Next(headerEnd);
                b[i] ^= (byte)(1 << rng.Next(8));
                description = $"bitflip header byte {i}";
                return b;
            }
            case 2:
            {
                int i = rng.Next(headerEnd);
                b[i] = (byte)rng.Next(256);
                description = $"overwrite header byte {i}";
                return b;
            }
            case 3:
            {
                int length = rng.Next(b.Length);
                description = $"truncate to {length}";
                return b[..length];
            }
            case 4:
            {
                var extra = new byte[rng.Next(1, 64)];
                rng.NextBytes(extra);
                description = $"append {extra.Length} bytes";
                return b.Concat(extra).ToArray();
            }
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
