// The GGUF reader and the ggml block decoders: dequantized values equal the independent numpy
// reference (tests/fixtures/gguf/quant_blocks.gguf, written by tools/reference/gguf_reference.py:
// random blocks of each type next to its own decoding), the Q8_0 quantizer writes the reference's
// bytes, and bad files (unknown architecture or tensor type, truncation, an offset past the end, a
// metadata array of 10^9 entries) are one-line LetheExceptions naming the file and the field,
// raised before anything of the claimed size is allocated.
using System.Text;
using Lethe.IO.Gguf;
using Lethe.Models;
using Xunit;

namespace Lethe.Tests.IO;

public class GgufReaderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "gguf", name);

    [Theory]
    [InlineData("q8_0", GgmlType.Q8_0)]
    [InlineData("q4_0", GgmlType.Q4_0)]
    [InlineData("q4_k", GgmlType.Q4_K)]
    [InlineData("q6_k", GgmlType.Q6_K)]
    [InlineData("f16", GgmlType.F16)]
    [InlineData("bf16", GgmlType.BF16)]
    public void DequantizedBlocksEqualTheNumpyReference(string name, GgmlType type)
    {
        using var f = GgufFile.Open(Fixture("quant_blocks.gguf"));
        var blocks = f.Tensor(name + ".blocks");
        Assert.Equal(type, blocks.Type);
        float[] expected = f.ReadF32(f.Tensor(name + ".expected")), actual = f.ReadF32(blocks);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.Length >= 64);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"{name}[{i}]: reference {expected[i]}, Lethe {actual[i]}");
        Assert.True(actual.Distinct().Count() > actual.Length / 8, "the random blocks should decode to many different values");
    }

    /// <summary>
    /// A stored tensor read row by row (GgufTensorRows) after its file is closed, behind a
    /// DequantizedStorage in bf16: rows and the values made on reading are the reference-checked
    /// decoding rounded to bf16, and quantizing those rows gives the blocks of quantizing a dense
    /// bf16 load (what --dtype q8_0 does with a matrix of another type).
    /// </summary>
    [Theory]
    [InlineData("q4_0")]
    [InlineData("q4_k")]
    [InlineData("q6_k")]
    [InlineData("f16")]
    public void RowsReadLateMatchADenseLoad(string name)
    {
        GgufTensorRows rows;
        float[] decoded;
        using (var f = GgufFile.Open(Fixture("quant_blocks.gguf")))
        {
            var info = f.Tensor(name + ".blocks");
            decoded = f.ReadF32(info);
            rows = f.Rows(info);
        }
        using var late = Lethe.Tensors.DequantizedStorage.TensorOf(rows, Lethe.Tensors.DType.BF16, ownsSource: true);
        using var dense = Lethe.Tensors.Tensor.FromArray(decoded, [rows.Rows, rows.Cols], Lethe.Tensors.DType.BF16);
        var storage = (Lethe.Tensors.DequantizedStorage)late.Storage;
        var row = new float[rows.Cols];
        var denseValues = dense.ToArray();
        for (int r = 0; r < rows.Rows; r++)
        {
            storage.ReadRow(r, row);
            Assert.Equal(denseValues.AsSpan(r * rows.Cols, rows.Cols).ToArray(), row);
        }
        Assert.NotEqual(decoded, denseValues); // bf16 rounding changes these values, so the rows above were rounded
        using var fromRows = Lethe.Tensors.Q8Matrix.FromRows(rows.Rows, rows.Cols, name, (r, buffer) => storage.ReadRow(r, buffer));
        using var fromDense = Lethe.Tensors.Q8Matrix.FromTensor(dense);
        Assert.Equal(fromDense.ToGgmlBlocks(), fromRows.ToGgmlBlocks());
        Assert.False(storage.IsMaterialized);
        Assert.Equal(denseValues, late.ToArray());
    }

    [Fact]
    public void Q8_0QuantizerWritesTheReferenceBytes()
    {
        using var f = GgufFile.Open(Fixture("quant_blocks.gguf"));
        float[] source = f.ReadF32(f.Tensor("q8_0.source"));
        byte[] expected = f.Bytes(f.Tensor("q8_0.quantized")).ToArray();
        Assert.Equal(expected, GgufQuant.QuantizeQ8_0(source));
        // and decoding them lands within half a quantization step of the source
        float[] back = f.ReadF32(f.Tensor("q8_0.quantized"));
        for (int b = 0; b < source.Length / 32; b++)
        {
            float step = source.Skip(b * 32).Take(32).Max(Math.Abs) / 127f;
            for (int j = b * 32; j < b * 32 + 32; j++) Assert.True(Math.Abs(back[j] - source[j]) <= step * 0.5f + 1e-3f * step + 1e-7f, $"value {j}");
        }
    }

    [Fact]
    public void ReadsTheRealFilesHeader()
    {
        using var f = GgufFile.Open(Fixture("stories260K.gguf"));
        Assert.Equal(3u, f.Version);
        Assert.Equal(48, f.Tensors.Count);
        Assert.Equal(new[] { 512, 64 }, f.Tensor("token_embd.weight").Shape);
        Assert.Equal(new[] { 32, 64 }, f.Tensor("blk.0.attn_k.weight").Shape);
        Assert.Equal(512, f.Metadata.OptionalStrings("tokenizer.ggml.tokens")!.Length);
        Assert.Equal("llama", f.Metadata.String("general.architecture"));
    }

    // ---------------------------------------------------------------- bad input

    /// <summary>A hand-built GGUF v3 file: metadata entries and tensor infos as raw bytes, then data.</summary>
    private sealed class RawGguf
    {
        private readonly MemoryStream kv = new(), infos = new();
        private int kvCount, tensorCount;
        public byte[] Data = new byte[64];

        private static void Str(BinaryWriter w, string s) { var b = Encoding.UTF8.GetBytes(s); w.Write((ulong)b.Length); w.Write(b); }

        public RawGguf String(string key, string value) { var w = new BinaryWriter(kv); Str(w, key); w.Write(8u); Str(w, value); kvCount++; return this; }
        public RawGguf U32(string key, uint value) { var w = new BinaryWriter(kv); Str(w, key); w.Write(4u); w.Write(value); kvCount++; return this; }
        public RawGguf F32(string key, float value) { var w = new BinaryWriter(kv); Str(w, key); w.Write(6u); w.Write(value); kvCount++; return this; }

        /// <summary>An array header claiming count elements, followed by only the bytes given.</summary>
        public RawGguf ArrayHeader(string key, uint elementType, ulong count, byte[] then)
        { var w = new BinaryWriter(kv); Str(w, key); w.Write(9u); w.Write(elementType); w.Write(count); w.Write(then); kvCount++; return this; }

        public RawGguf Tensor(string name, uint type, ulong offset, params ulong[] ne)
        {
            var w = new BinaryWriter(infos);
            Str(w, name); w.Write((uint)ne.Length); foreach (var n in ne) w.Write(n); w.Write(type); w.Write(offset);
            tensorCount++;
            return this;
        }

        public byte[] Bytes()
        {
            var s = new MemoryStream();
            var w = new BinaryWriter(s);
            w.Write(Encoding.ASCII.GetBytes("GGUF")); w.Write(3u); w.Write((ulong)tensorCount); w.Write((ulong)kvCount);
            w.Write(kv.ToArray()); w.Write(infos.ToArray());
            while (s.Length % 32 != 0) w.Write((byte)0);
            w.Write(Data);
            return s.ToArray();
        }
    }

    private static LetheException Rejected(byte[] bytes, Action<string> open, out string path, TempFolder dir)
    {
        path = dir.File($"bad-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        string p = path;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsAny<LetheException>(() => open(p));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes before refusing a {bytes.Length}-byte file");
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void UnknownArchitectureNamesTheField()
    {
        using var dir = new TempFolder();
        var raw = new RawGguf().String("general.architecture", "mamba").Tensor("token_embd.weight", 0, 0, 4, 4);
        var e = Rejected(raw.Bytes(), p => ModelLoader.Load(p), out _, dir);
        Assert.Contains("'general.architecture'", e.Message);
        Assert.Contains("mamba", e.Message);
    }

    [Fact]
    public void UnknownTensorTypeNamesTheTensorAndType()
    {
        using var dir = new TempFolder();
        var raw = new RawGguf().String("general.architecture", "llama").Tensor("blk.0.attn_q.weight", 13, 0, 256, 1);
        var e = Rejected(raw.Bytes(), p => GgufFile.Open(p), out _, dir);
        Assert.Contains("'blk.0.attn_q.weight'", e.Message);
        Assert.Contains("Q5_K", e.Message);
    }

    [Fact]
    public void TensorOffsetPastTheEndIsRefused()
    {
        using var dir = new TempFolder();
        var raw = new RawGguf().String("general.architecture", "llama").Tensor("output_norm.weight", 0, 1 << 20, 8);
        var e = Rejected(raw.Bytes(), p => GgufFile.Open(p), out _, dir);
        Assert.Contains("'output_norm.weight'", e.Message);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void BillionEntryMetadataArrayIsRefusedBeforeAllocating()
    {
        using var dir = new TempFolder();
        foreach (uint element in new uint[] { 8, 5, 6, 9 }) // strings, int32, float32, nested arrays
        {
            var raw = new RawGguf().String("general.architecture", "llama").ArrayHeader("tokenizer.ggml.tokens", element, 1_000_000_000, new byte[40]);
            var e = Rejected(raw.Bytes(), p => GgufFile.Open(p), out _, dir);
            Assert.Contains("'tokenizer.ggml.tokens'", e.Message);
            Assert.Contains("1000000000", e.Message);
        }
        var huge = new RawGguf().ArrayHeader("x", 8, ulong.MaxValue, new byte[8]);
        Assert.Contains("'x'", Rejected(huge.Bytes(), p => GgufFile.Open(p), out _, dir).Message);
    }

    [Fact]
    public void TruncatedFilesAreRefusedAtEveryCut()
    {
        using var dir = new TempFolder();
        byte[] full = File.ReadAllBytes(Fixture("stories260K.gguf"));
        long dataStart;
        using (var f = GgufFile.Open(Fixture("stories260K.gguf"))) dataStart = f.DataStart;
        foreach (long cut in new long[] { 0, 3, 10, 23, 30, 200, 5000, dataStart - 1, dataStart + 10, full.Length - 1 })
        {
            var e = Rejected(full[..(int)cut], p => ModelLoader.Load(p), out _, dir);
            Assert.Matches("truncated|past the end|runs past", e.Message);
        }
    }

    [Fact]
    public void NotAGgufFileAndBadVersionAreNamed()
    {
        using var dir = new TempFolder();
        Assert.Contains("magic", Rejected(Encoding.ASCII.GetBytes("{\"not\": \"gguf\"} and some more bytes"), p => GgufFile.Open(p), out _, dir).Message);
        var v1 = new RawGguf().Bytes();
        v1[4] = 1;
        Assert.Contains("version 1", Rejected(v1, p => GgufFile.Open(p), out _, dir).Message);
    }
}
