// Writes a GGUF v3 file: the metadata in the order given, the tensor table, padding to the
// alignment (32), then each tensor's bytes padded to the alignment. Tensor bytes are produced one
// tensor at a time while writing, so a large model is never held twice in memory. The file is
// written atomically (temporary file + rename).
using System.Text;
using Lethe.Util;

namespace Lethe.IO.Gguf;

public sealed class GgufWriter
{
    public const int Alignment = 32;

    private readonly List<(string key, GgufValue value)> metadata = new();
    private readonly List<(string name, int[] shape, GgmlType type, Func<byte[]> bytes)> tensors = new();

    public void Add(string key, GgufValue value) => metadata.Add((key, value));

    /// <summary>A tensor of row-major shape (stored with ne = shape reversed) whose bytes come from bytes().</summary>
    public void AddTensor(string name, int[] shape, GgmlType type, Func<byte[]> bytes) => tensors.Add((name, shape, type, bytes));

    private static long ByteCount(int[] shape, GgmlType type)
    {
        var (values, bytes) = GgufTypes.Block(type);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        return count / values * bytes;
    }

    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(0x46554747u); // "GGUF"
        w.Write(3u);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value);
        }
        long offset = 0;
        foreach (var (name, shape, type, _) in tensors)
        {
            WriteString(w, name);
            w.Write((uint)shape.Length);
            for (int d = shape.Length - 1; d >= 0; d--) w.Write((ulong)shape[d]);
            w.Write((uint)type);
            w.Write((ulong)offset);
            offset += Padded(ByteCount(shape, type));
        }
        w.Flush();
        Pad(stream);
        foreach (var (name, shape, type, bytes) in tensors)
        {
            var data = bytes();
            if (data.LongLength != ByteCount(shape, type))
                throw new InvalidOperationException($"tensor '{name}': {data.Length} bytes given, {ByteCount(shape, type)} expected");
            stream.Write(data);
            Pad(stream);
        }
    });

    private static long Padded(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream s)
    {
        long pad = Padded(s.Position) - s.Position;
        for (long i = 0; i < pad; i++) s.WriteByte(0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue v)
    {
        if (v.Type == GgufValueType.Array)
        {
            var items = (Array)v.Value;
            w.Write((uint)v.ElementType);
            w.Write((ulong)items.Length);
            foreach (var item in items)
                WriteValue(w, item as GgufValue ?? new GgufValue(v.ElementType, Widen(item)));
            return;
        }
        object x = v.Value;
        switch (v.Type)
        {
            case GgufValueType.String: WriteString(w, (string)x); return;
            case GgufValueType.Bool: w.Write((byte)((bool)x ? 1 : 0)); return;
            case GgufValueType.UInt8: w.Write((byte)(ulong)x); return;
            case GgufValueType.Int8: w.Write((sbyte)(long)x); return;
            case GgufValueType.UInt16: w.Write((ushort)(ulong)x); return;
            case GgufValueType.Int16: w.Write((short)(long)x); return;
            case GgufValueType.UInt32: w.Write((uint)(ulong)x); return;
            case GgufValueType.Int32: w.Write((int)(long)x); return;
            case GgufValueType.UInt64: w.Write((ulong)x); return;
            case GgufValueType.Int64: w.Write((long)x); return;
            case GgufValueType.Float32: w.Write((float)(double)x); return;
            case GgufValueType.Float64: w.Write((double)x); return;
        }
        throw new NotSupportedException($"GgufWriter cannot write a {v.Type} value");
    }

    /// <summary>An array element in the representation GgufValue uses for scalars (long, ulong, double).</summary>
    private static object Widen(object item) => item switch
    {
        byte b => (ulong)b, ushort u => (ulong)u, uint u => (ulong)u,
        sbyte b => (long)b, short s => (long)s, int i => (long)i,
        float f => (double)f,
        _ => item,
    };
}
