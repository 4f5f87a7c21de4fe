// Fuzz-style robustness: a valid file is mutated thousands of times (fixed seed) — bit flips,
// byte overwrites, truncation, appended bytes, forged header lengths, and edits of the header text
// with the length prefix fixed up so the parser gets further — and every outcome must be either a
// clean load (every tensor readable, every byte range inside the file) or a LetheException: never
// another exception type, a crash, a hang, or an allocation out of proportion to the file.
using System.Diagnostics;
using System.Text;
using Lethe.IO;
using Lethe.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace Lethe.Tests.IO;

public class SafeTensorsFuzzTests(ITestOutputHelper output)
{
    private const int Mutations = 3000;

    [Fact]
    public void EveryMutationLoadsCleanlyOrFailsWithALetheException()
    {
        using var dir = new TempFolder();
        var original = File.ReadAllBytes(WriteRichSample(dir.File("base.safetensors")));
        var rng = new Random(20240611);
        var (loaded, rejected, kinds, elapsed) = FuzzHarness.Run(dir, ".safetensors", Mutations,
            (int _, out string description) => Mutate(original, rng, out description), Exercise, 8 << 20);
        output.WriteLine($"{Mutations} mutations: {loaded} loaded, {rejected} rejected, {elapsed.TotalSeconds:F2} s; kinds: {string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value}"))}");
        // Both outcomes must occur often, or the mutations are not exercising the loader.
        Assert.True(loaded > Mutations / 20, $"only {loaded} mutants loaded ({rejected} rejected)");
        Assert.True(rejected > Mutations / 4, $"only {rejected} mutants rejected ({loaded} loaded)");
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"{Mutations} mutations took {elapsed.TotalSeconds:F1} s");
        Assert.True(kinds.Count >= 8, "mutation kinds used: " + string.Join(", ", kinds.Keys));
    }

    /// <summary>Reads everything a model loader would read; any problem must surface as a LetheException.</summary>
    private static void Exercise(string path, long fileLength)
    {
        using var f = SafeTensorsFile.Open(path);
        _ = f.Metadata.Count;
        foreach (var e in f.Entries)
        {
            Assert.True(e.FileOffset >= f.DataStart && e.FileOffset + e.ByteCount <= fileLength, $"{e} lies outside the {fileLength}-byte file");
            if (e.DType.ToTensorDType() is not null || e.DType == SafeTensorsDType.F64)
            {
                using (var t = f.Load(e.Name)) _ = t.ToArray();
                using (var t = f.LoadAs(e.Name, DType.F32)) _ = t.ToArray();
                using (var t = f.LoadAs(e.Name, DType.BF16)) _ = t.ToArray();
                _ = f.CountNonFinite(e.Name);
            }
            else if (e.DType.IsInteger())
            {
                _ = f.ReadInt64(e.Name); // may be a LetheException (a BOOL byte of 7, a U64 above long)
            }
            else
            {
                Assert.Throws<LetheException>(() => f.Load(e.Name));
            }
            _ = f.ReadBytes(e.Name);
        }
    }

    private static byte[] Mutate(byte[] original, Random rng, out string description)
    {
        int headerLength = (int)BitConverter.ToUInt64(original, 0);
        int kind = rng.Next(11);
        if (kind < FuzzHarness.ByteMutationKinds) return FuzzHarness.ByteMutation(original, kind, 8, 8 + headerLength, rng, out description);
        var b = (byte[])original.Clone();
        switch (kind)
        {
            case 5:
            {
                ulong n = rng.Next(4) switch
                {
                    0 => (ulong)rng.NextInt64(),
                    1 => (ulong)(headerLength + rng.Next(-16, 17)),
                    2 => 100_000_000UL + (ulong)rng.Next(-2, 3),
                    _ => ulong.MaxValue - (ulong)rng.Next(16),
                };
                BitConverter.GetBytes(n).CopyTo(b, 0);
                description = $"length-prefix {n}";
                return b;
            }
            default:
                return EditHeader(original, headerLength, rng, out description);
        }
    }

    /// <summary>Edits the header text and rewrites the length prefix to match, so the JSON parser and validator are reached.</summary>
    private static byte[] EditHeader(byte[] original, int headerLength, Random rng, out string description)
    {
        string text = Encoding.UTF8.GetString(original, 8, headerLength);
        var data = original[(8 + headerLength)..];
        const string alphabet = "{}[]\",:0123456789-.eE aFIBUt_";
        int at = rng.Next(text.Length);
        switch (rng.Next(6))
        {
            case 0:
            {
                var digits = Enumerable.Range(0, text.Length).Where(i => char.IsAsciiDigit(text[i])).ToArray();
                at = digits[rng.Next(digits.Length)];
                char d = (char)('0' + rng.Next(10));
                text = text[..at] + d + text[(at + 1)..];
                description = $"header-digit {at}->{d}";
                break;
            }
            case 1:
            {
                char c = alphabet[rng.Next(alphabet.Length)];
                text = text[..at] + c + text[(at + 1)..];
                description = $"header-replace {at}->{c}";
                break;
            }
            case 2:
                text = text.Remove(at, 1);
                description = $"header-delete {at}";
                break;
            case 3:
            {
                char c = alphabet[rng.Next(alphabet.Length)];
                text = text.Insert(at, c.ToString());
                description = $"header-insert {at} {c}";
                break;
            }
            case 4:
            {
                string[] dtypes = Enum.GetNames<SafeTensorsDType>();
                string from = dtypes.Where(d => text.Contains($"\"{d}\"")).OrderBy(_ => rng.Next()).First();
                string to = dtypes[rng.Next(dtypes.Length)];
                int i = text.IndexOf($"\"{from}\"", StringComparison.Ordinal);
                text = text[..i] + $"\"{to}\"" + text[(i + from.Length + 2)..];
                description = $"header-dtype {from}->{to}";
                break;
            }
            default:
            {
                // Swap two numbers (shape dims or offsets) — keeps the JSON valid, breaks the layout.
                var numbers = System.Text.RegularExpressions.Regex.Matches(text, "[0-9]+").ToArray();
                var m1 = numbers[rng.Next(numbers.Length)];
                var m2 = numbers[rng.Next(numbers.Length)];
                if (m1.Index > m2.Index) (m1, m2) = (m2, m1);
                if (m1.Index != m2.Index)
                    text = text[..m1.Index] + m2.Value + text[(m1.Index + m1.Length)..m2.Index] + m1.Value + text[(m2.Index + m2.Length)..];
                description = $"header-swap {m1.Value}<->{m2.Value}";
                break;
            }
        }
        var json = Encoding.UTF8.GetBytes(text);
        var result = new byte[8 + json.Length + data.Length];
        BitConverter.GetBytes((ulong)json.Length).CopyTo(result, 0);
        json.CopyTo(result, 8);
        data.CopyTo(result, 8 + json.Length);
        return result;
    }

    /// <summary>A file with every class of dtype: loadable floats, F64, integers, BOOL, F8, and metadata.</summary>
    private static string WriteRichSample(string path)
    {
        using var a = Tensor.FromArray(new float[] { 1, -2, 3.5f, float.NaN, 0, 7 }, new[] { 2, 3 });
        using var b = Tensor.FromArray(new float[] { 0.1f, -7, 3e-3f, 65536 }, new[] { 2, 2 }, DType.BF16);
        using var c = Tensor.FromArray(new float[] { 0.5f, -0.25f, 100 }, new[] { 3 }, DType.F16);
        var w = new SafeTensorsWriter();
        w.Metadata["format"] = "pt";
        w.Add("a", a).Add("b", b).Add("c", c)
         .Add("d", new[] { 1.0, -2.0 }, 2)
         .Add("ids", new long[] { 1, -2, 3 }, 3)
         .Add("u64", new ulong[] { 5, 6 }, 2)
         .Add("mask", new[] { true, false, true }, 3)
         .Add("i16", new short[] { -3, 4 }, 2)
         .AddBytes("q", SafeTensorsDType.F8_E5M2, new[] { 2 }, new byte[] { 7, 9 });
        w.Save(path);
        return path;
    }
}
