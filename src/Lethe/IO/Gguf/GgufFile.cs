// One GGUF file (v2 or v3, little-endian), memory-mapped read-only. Open parses and validates the
// whole header before anything else: every length and count is checked against the bytes that
// remain in the file BEFORE anything is allocated for it (a metadata array claiming 10^9 entries
// in a 1 MB file is an error, not a 10^9-element allocation), tensor types must be ones Lethe
// reads, shapes must be whole blocks, and every tensor's bytes must lie inside the file at an
// aligned offset. Errors are LetheExceptions naming the file and the field.
// Layout (GGUF spec): "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata
// (key string, u32 type, value), the tensor infos (name, u32 n_dims, u64 ne[n_dims] with ne[0]
// the fastest-varying, u32 ggml type, u64 offset from the data start), padding to
// general.alignment (default 32), then the tensor data. Strings are u64 length + UTF-8 bytes.
using System.Text;
using Lethe.Tensors;

namespace Lethe.IO.Gguf;

/// <summary>A tensor's entry in the table. Shape is in row-major (PyTorch) order: ne reversed.</summary>
public sealed record GgufTensorInfo(string Name, int[] Shape, GgmlType Type, long FileOffset, long ByteCount, long Count);

public sealed unsafe class GgufFile : IDisposable
{
    /// <summary>Limits that no real model comes near; they bound the work a hostile header can cause.</summary>
    public const int MaxTensors = 1 << 20, MaxKeys = 1 << 20, MaxDims = 4, MaxNesting = 3;

    private readonly MappedFile mapping;
    private readonly Dictionary<string, GgufTensorInfo> byName;

    public string Path { get; }
    public uint Version { get; }
    public GgufMetadata Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public long DataStart { get; }
    public int Alignment { get; }

    private GgufFile(string path, MappedFile mapping, uint version, GgufMetadata metadata, List<GgufTensorInfo> tensors, long dataStart, int alignment)
    {
        Path = path; this.mapping = mapping; Version = version; Metadata = metadata; Tensors = tensors; DataStart = dataStart; Alignment = alignment;
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public static bool LooksLikeGguf(string path) =>
        path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && File.Exists(path);

    public static GgufFile Open(string path)
    {
        if (Directory.Exists(path)) throw new LetheException($"{path}: is a folder, not a .gguf file");
        if (!File.Exists(path)) throw new LetheException($"{path}: file not found; check the path");
        var mapping = new MappedFile(path);
        try
        {
            var r = new Cursor(mapping.Pointer, mapping.Length, path);
            r.Need(24, "header", "a GGUF file starts with a 24-byte header");
            uint magic = r.U32("magic");
            if (magic != 0x46554747) // "GGUF" read little-endian
                throw new LetheException($"{path}: magic: the file does not start with \"GGUF\"; it is not a GGUF file");
            uint version = r.U32("version");
            if (version is not (2 or 3))
                throw new LetheException(version is 0x02000000 or 0x03000000
                    ? $"{path}: version: the file is a big-endian GGUF; only little-endian files are read"
                    : $"{path}: version: GGUF version {version} is not supported (only 2 and 3); re-convert the model with a current llama.cpp");
            ulong tensorCount = r.U64("tensor_count"), keyCount = r.U64("metadata_kv_count");
            // Each key needs at least 8 (key length) + 4 (type) + 1 bytes, each tensor info 8 + 4 + 8 + 4 + 8.
            r.CheckCount(keyCount, 13, MaxKeys, "metadata_kv_count");
            r.CheckCount(tensorCount, 32, MaxTensors, "tensor_count");

            var values = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
            for (ulong i = 0; i < keyCount; i++)
            {
                string key = r.String($"metadata key #{i}");
                var type = (GgufValueType)r.U32($"metadata '{key}' type");
                var value = r.Value(type, $"metadata '{key}'", 0);
                if (!values.TryAdd(key, value)) throw new LetheException($"{path}: metadata '{key}' appears twice; the file is corrupt");
            }
            var metadata = new GgufMetadata(values, path);
            long alignment = metadata.OptionalInteger("general.alignment") ?? 32;
            if (alignment <= 0 || alignment > 1 << 20 || (alignment & (alignment - 1)) != 0)
                throw new LetheException($"{path}: metadata 'general.alignment' is {alignment}; it must be a power of two (usually 32)");

            var raw = new List<(string name, long[] ne, uint type, ulong offset)>();
            for (ulong i = 0; i < tensorCount; i++)
            {
                string name = r.String($"tensor #{i} name");
                uint dims = r.U32($"tensor '{name}' n_dims");
                if (dims is 0 or > MaxDims) throw new LetheException($"{path}: tensor '{name}' n_dims is {dims}; it must be 1 to {MaxDims}");
                var ne = new long[dims];
                for (int d = 0; d < dims; d++)
                {
                    ulong n = r.U64($"tensor '{name}' ne[{d}]");
                    if (n is 0 or > int.MaxValue) throw new LetheException($"{path}: tensor '{name}' dimension ne[{d}] is {n}; it must be 1 to {int.MaxValue}");
                    ne[d] = (long)n;
                }
                raw.Add((name, ne, r.U32($"tensor '{name}' type"), r.U64($"tensor '{name}' offset")));
            }
            long dataStart = (r.Position + alignment - 1) / alignment * alignment;

            var tensors = new List<GgufTensorInfo>(raw.Count);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, ne, code, offset) in raw)
            {
                if (!seen.Add(name)) throw new LetheException($"{path}: tensor '{name}' is listed twice; the file is corrupt");
                if (!GgufTypes.IsSupported((GgmlType)code))
                    throw new LetheException($"{path}: tensor '{name}' has type {GgufTypes.NameOfCode(code)} (code {code}), which Lethe does not read; supported: {GgufTypes.Supported} (re-quantize the model to one of these with llama-quantize)");
                var type = (GgmlType)code;
                var (blockValues, blockBytes) = GgufTypes.Block(type);
                long count = 1;
                foreach (long n in ne)
                {
                    if (count > (1L << 40) / n) throw new LetheException($"{path}: tensor '{name}' has more than 2^40 elements ({string.Join(" x ", ne)})");
                    count *= n;
                }
                if (ne[0] % blockValues != 0)
                    throw new LetheException($"{path}: tensor '{name}' of type {type} has rows of {ne[0]} values, not a multiple of its block size {blockValues}; the file is corrupt");
                long bytes = count / blockValues * blockBytes;
                if (offset % (ulong)alignment != 0)
                    throw new LetheException($"{path}: tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}; the file is corrupt");
                if (offset > (ulong)(mapping.Length - dataStart) || bytes > mapping.Length - dataStart - (long)offset)
                    throw new LetheException($"{path}: tensor '{name}' offset {offset} + {bytes} bytes lies past the end of the data ({Math.Max(0, mapping.Length - dataStart)} bytes); the file is truncated or corrupt — re-download it");
                var shape = ne.Reverse().Select(n => (int)n).ToArray();
                tensors.Add(new GgufTensorInfo(name, shape, type, dataStart + (long)offset, bytes, count));
            }
            return new GgufFile(path, mapping, version, metadata, tensors, dataStart, (int)alignment);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => byName.ContainsKey(name);

    public GgufTensorInfo Tensor(string name) => byName.TryGetValue(name, out var t) ? t
        : throw new LetheException($"{Path}: no tensor named '{name}' (the file has {Tensors.Count} tensors, e.g. {string.Join(", ", Tensors.Take(4).Select(x => x.Name))})");

    /// <summary>The stored bytes of a tensor (a view of the mapping; valid while this file is open).</summary>
    public ReadOnlySpan<byte> Bytes(GgufTensorInfo t) =>
        t.ByteCount <= int.MaxValue ? new ReadOnlySpan<byte>(mapping.Pointer + t.FileOffset, (int)t.ByteCount)
            : throw new LetheException($"{Path}: tensor '{t.Name}' is larger than 2 GB; Lethe reads tensors up to 2 GB");

    /// <summary>All values of a tensor dequantized to fp32, in row-major order.</summary>
    public float[] ReadF32(GgufTensorInfo t)
    {
        if (t.Count > Array.MaxLength) throw new LetheException($"{Path}: tensor '{t.Name}' has {t.Count} values, more than one array holds");
        var dst = new float[t.Count];
        fixed (float* p = dst) GgufQuant.Dequantize(t.Type, mapping.Pointer + t.FileOffset, p, t.Count);
        return dst;
    }

    /// <summary>A tensor's bytes as stored (ggml blocks for quantized types), read from the mapping without a copy.</summary>
    public ReadOnlySpan<byte> RawBytes(GgufTensorInfo t)
    {
        if (t.ByteCount > int.MaxValue) throw new LetheException($"{Path}: tensor '{t.Name}' holds {t.ByteCount} bytes, more than one span reaches");
        return new ReadOnlySpan<byte>(mapping.Pointer + t.FileOffset, (int)t.ByteCount);
    }

    /// <summary>
    /// A tensor dequantized into a new Lethe tensor of the given dtype, a few rows at a time on every core (no
    /// fp32 copy of the whole tensor is made: for the embedding of a large vocabulary that copy was
    /// hundreds of MB beside the result). Every value is checked to be finite. rowOrder, when given,
    /// says which stored row each row of the result takes (q/k rows moved back to Hugging Face's order).
    /// </summary>
    public Tensor Load(GgufTensorInfo t, DType dtype, int[]? rowOrder = null)
    {
        var result = Lethe.Tensors.Tensor.ZerosPersistent(t.Shape, dtype, pooled: true);   // a weight: lives as long as its model
        try
        {
            if (t.Shape.Length == 1) // a vector (norm weight, bias): small, and its "rows" are single values
            {
                float[] all = ReadF32(t);
                if (rowOrder is not null) all = Array.ConvertAll(rowOrder, i => all[i]);
                if (!DTypes.AllFinite(all)) throw GgufTensorRows.NonFinite(Path, t);
                result.CopyFrom(all);
                return result;
            }
            using var source = Rows(t, rowOrder);
            int cols = source.Cols, rows = source.Rows;
            // Chunks of rows, about 64 K values each, on every core: each is decoded into the task's
            // own fp32 buffer (kept in the cache), checked, and narrowed into its place in the result.
            int chunkRows = Math.Clamp((1 << 16) / cols, 1, rows);
            int chunks = (rows + chunkRows - 1) / chunkRows;
            byte* dst = result.Storage.Pointer;
            int size = dtype.SizeOf();
            int nonFinite = 0;
            Parallel.For(0, chunks, () => new float[chunkRows * cols], (c, _, buffer) =>
            {
                int r0 = c * chunkRows, n = Math.Min(chunkRows, rows - r0);
                fixed (float* b = buffer) source.ReadRows(r0, n, b);
                var values = buffer.AsSpan(0, n * cols);
                if (!DTypes.AllFinite(values)) { Volatile.Write(ref nonFinite, 1); return buffer; }
                byte* at = dst + (long)r0 * cols * size;
                if (dtype == DType.F32) values.CopyTo(new Span<float>(at, values.Length));
                else DTypes.Narrow(values, new Span<ushort>(at, values.Length), dtype);
                return buffer;
            }, _ => { });
            if (nonFinite != 0) throw GgufTensorRows.NonFinite(Path, t);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A matrix of this file read row by row (rowOrder: which stored row each row is), readable until
    /// disposed even after this file is closed (it holds a reference on the mapping).
    /// </summary>
    public GgufTensorRows Rows(GgufTensorInfo t, int[]? rowOrder = null) => new(mapping, Path, t, rowOrder);

    /// <summary>
    /// Hands a tensor's pages of the mapping back to the OS once it has been read into memory, so
    /// that a model's load does not also hold the file's pages in its resident memory (a later read
    /// maps them again from the page cache).
    /// </summary>
    public void ReleasePages(GgufTensorInfo t) => mapping.ReleasePages(t.FileOffset, t.ByteCount);

    public void Dispose() => mapping.Dispose();

    /// <summary>Bounds-checked little-endian reads over the mapped header.</summary>
    private sealed class Cursor(byte* start, long length, string path)
    {
        public long Position { get; private set; }

        public void Need(long bytes, string field, string why)
        {
            if (bytes > length - Position)
                throw new LetheException($"{path}: {field}: needs {bytes} bytes at offset {Position} but the file ends at {length}; the file is truncated — {why}");
        }

        private void Need(long bytes, string field) => Need(bytes, field, "re-download or re-convert it");

        public uint U32(string field) { Need(4, field); uint v = *(uint*)(start + Position); Position += 4; return v; }
        public ulong U64(string field) { Need(8, field); ulong v = *(ulong*)(start + Position); Position += 8; return v; }

        /// <summary>Refuses a count whose entries cannot fit in the rest of the file (or exceed a hard limit).</summary>
        public void CheckCount(ulong count, int minBytesEach, long limit, string field)
        {
            if (count > (ulong)limit)
                throw new LetheException($"{path}: {field} is {count}, more than the {limit} Lethe accepts; the file is corrupt");
            if (count * (ulong)minBytesEach > (ulong)(length - Position))
                throw new LetheException($"{path}: {field} is {count}, which needs at least {count * (ulong)minBytesEach} bytes but only {length - Position} remain; the file is truncated or corrupt");
        }

        public string String(string field)
        {
            ulong n = U64(field + " length");
            if (n > (ulong)(length - Position))
                throw new LetheException($"{path}: {field}: a string of {n} bytes at offset {Position} runs past the end of the file ({length} bytes); the file is truncated or corrupt");
            if (n > int.MaxValue) throw new LetheException($"{path}: {field}: a string of {n} bytes is too long");
            string s;
            try { s = Strict.GetString(start + Position, (int)n); }
            catch (DecoderFallbackException) { throw new LetheException($"{path}: {field}: the string at offset {Position} is not valid UTF-8; the file is corrupt"); }
            Position += (long)n;
            return s;
        }

        public GgufValue Value(GgufValueType type, string field, int depth)
        {
            if (!GgufTypes.IsKnown(type)) throw new LetheException($"{path}: {field} has value type {(uint)type}, which is not a GGUF type; the file is corrupt");
            switch (type)
            {
                case GgufValueType.String: return new GgufValue(type, String(field));
                case GgufValueType.Array: return Array(field, depth);
                case GgufValueType.Bool:
                {
                    Need(1, field);
                    byte b = start[Position++];
                    if (b > 1) throw new LetheException($"{path}: {field} is a bool stored as {b}; it must be 0 or 1");
                    return new GgufValue(type, b == 1);
                }
                default:
                {
                    Need(GgufTypes.ScalarSize(type), field);
                    byte* p = start + Position;
                    Position += GgufTypes.ScalarSize(type);
                    // Each arm boxed on its own: a switch over long/ulong/double would otherwise widen all to double.
                    object v = type switch
                    {
                        GgufValueType.UInt8 => (object)(ulong)*p, GgufValueType.Int8 => (object)(long)*(sbyte*)p,
                        GgufValueType.UInt16 => (object)(ulong)*(ushort*)p, GgufValueType.Int16 => (object)(long)*(short*)p,
                        GgufValueType.UInt32 => (object)(ulong)*(uint*)p, GgufValueType.Int32 => (object)(long)*(int*)p,
                        GgufValueType.UInt64 => (object)*(ulong*)p, GgufValueType.Int64 => (object)*(long*)p,
                        GgufValueType.Float32 => (object)(double)*(float*)p, _ => (object)*(double*)p,
                    };
                    return new GgufValue(type, v);
                }
            }
        }

        private GgufValue Array(string field, int depth)
        {
            if (depth >= MaxNesting) throw new LetheException($"{path}: {field}: arrays nested deeper than {MaxNesting} levels; the file is corrupt");
            var element = (GgufValueType)U32(field + " element type");
            if (!GgufTypes.IsKnown(element)) throw new LetheException($"{path}: {field} has element type {(uint)element}, which is not a GGUF type; the file is corrupt");
            ulong count = U64(field + " length");
            // Validate the size against the rest of the file before allocating anything for it.
            CheckCount(count, GgufTypes.MinSize(element), int.MaxValue - 64, $"{field} length");
            int n = (int)count;
            switch (element)
            {
                case GgufValueType.String:
                {
                    var items = new string[n];
                    for (int i = 0; i < n; i++) items[i] = String($"{field}[{i}]");
                    return new GgufValue(GgufValueType.Array, items, element);
                }
                case GgufValueType.Array:
                {
                    var items = new GgufValue[n];
                    for (int i = 0; i < n; i++) items[i] = Array($"{field}[{i}]", depth + 1);
                    return new GgufValue(GgufValueType.Array, items, element);
                }
                case GgufValueType.Bool:
                {
                    var items = new bool[n];
                    for (int i = 0; i < n; i++) items[i] = (bool)Value(element, $"{field}[{i}]", depth).Value;
                    return new GgufValue(GgufValueType.Array, items, element);
                }
            }
            var span = new ReadOnlySpan<byte>(start + Position, n * GgufTypes.ScalarSize(element));
            Position += span.Length;
            System.Array values = element switch
            {
                GgufValueType.UInt8 => span.ToArray(),
                GgufValueType.Int8 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(span).ToArray(),
                GgufValueType.UInt16 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(span).ToArray(),
                GgufValueType.Int16 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(span).ToArray(),
                GgufValueType.UInt32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(span).ToArray(),
                GgufValueType.Int32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(span).ToArray(),
                GgufValueType.Float32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(span).ToArray(),
                GgufValueType.UInt64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(span).ToArray(),
                GgufValueType.Int64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(span).ToArray(),
                _ => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(span).ToArray(),
            };
            return new GgufValue(GgufValueType.Array, values, element);
        }

        private static readonly Encoding Strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
    }
}
