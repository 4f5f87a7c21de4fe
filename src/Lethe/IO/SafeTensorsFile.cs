// One safetensors file, opened read-only and memory-mapped once. Open validates the whole header
// (see SafeTensorsHeader) before any tensor is touched, so a loaded tensor is always in bounds.
// Load returns F32/F16/BF16 tensors that view the mapped bytes without copying (a bf16 checkpoint
// stays bf16 in memory and is widened where it is consumed); LoadAs converts (for --dtype f32).
// Integer tensors are read into arrays. Every offset and count is a long: files pass 2 GB.
// Tensors keep the mapping alive after the file is disposed (MappedFile is reference-counted);
// modifying the file on disk while it is open is not supported (the mapping would see it).
using System.Buffers.Binary;
using Lethe.Tensors;

namespace Lethe.IO;

public sealed unsafe class SafeTensorsFile : IDisposable
{
    private readonly MappedFile mapping;
    private readonly SafeTensorsHeader header;
    private int disposed;

    private SafeTensorsFile(string path, long fileLength, long headerLength, MappedFile mapping, SafeTensorsHeader header)
    {
        Path = path; FileLength = fileLength; HeaderLength = headerLength; this.mapping = mapping; this.header = header;
    }

    public string Path { get; }
    public long FileLength { get; }
    /// <summary>N, the JSON header's length in bytes (padding included).</summary>
    public long HeaderLength { get; }
    /// <summary>Absolute file position of the data area (8 + N).</summary>
    public long DataStart => 8 + HeaderLength;
    /// <summary>The header's "__metadata__" map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata => header.Metadata;
    /// <summary>The tensors in file order (by offset).</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries => header.EntriesByOffset;
    public IEnumerable<string> Names => header.EntriesByOffset.Select(e => e.Name);
    public bool Contains(string name) => header.EntriesByName.ContainsKey(name);

    /// <summary>Opens, maps and validates a .safetensors file; any problem is a LetheException naming the file and field.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (Directory.Exists(path))
            throw new LetheException($"{path}: is a folder, not a .safetensors file; open a model folder with SafeTensorsCheckpoint.Open");
        if (!File.Exists(path))
            throw new LetheException($"{path}: file not found; check the path");
        InputFiles.RequireRegular(path, "safetensors file"); // a FIFO or device would block or never end
        var mapping = new MappedFile(path);
        try
        {
            long fileLength = mapping.Length;
            if (fileLength < 8)
                throw new LetheException($"{path}: the file is truncated: a safetensors file starts with an 8-byte header length, found only {fileLength} bytes — re-download or re-save it");
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(mapping.Pointer, 8));
            long headerLength = SafeTensorsHeader.CheckHeaderLength(path, n, fileLength);
            var json = new ReadOnlySpan<byte>(mapping.Pointer + 8, (int)headerLength).ToArray();
            var header = SafeTensorsHeader.Parse(path, json, fileLength);
            return new SafeTensorsFile(path, fileLength, headerLength, mapping, header);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>The header entry of a tensor; a clear error listing some names when it is absent.</summary>
    public SafeTensorsEntry Entry(string name)
    {
        if (header.EntriesByName.TryGetValue(name, out var e)) return e;
        var some = header.EntriesByOffset.Take(5).Select(x => SafeTensorsHeader.Quote(x.Name));
        throw new LetheException($"{Path}: no tensor named {SafeTensorsHeader.Quote(name)} (the file has {header.EntriesByOffset.Count} tensors{(header.EntriesByOffset.Count > 0 ? ", e.g. " + string.Join(", ", some) : "")}); check the name against the model's architecture");
    }

    /// <summary>
    /// The tensor, as stored: F32/F16/BF16 view the mapped file without copying (read-only); F64 is
    /// converted to a new F32 tensor. Other dtypes are an error that says how to read them.
    /// </summary>
    public Tensor Load(string name)
    {
        var e = Entry(name);
        if (e.DType.ToTensorDType() is { } dtype)
        {
            var storage = new MappedStorage(Mapping(), e.FileOffset, e.ByteCount);
            return Tensor.FromStorage(storage, 0, e.Shape, dtype, ownsStorage: true).Named(name);
        }
        if (e.DType == SafeTensorsDType.F64) return LoadAs(name, DType.F32);
        throw new LetheException($"{Path}: tensor {SafeTensorsHeader.Quote(name)}: {e.DType.NotLoadableReason()}");
    }

    /// <summary>The tensor converted to dtype (a new, writable tensor), or the zero-copy view when it already has it.</summary>
    public Tensor LoadAs(string name, DType dtype)
    {
        var e = Entry(name);
        if (e.DType.ToTensorDType() == dtype) return Load(name);
        if (!e.DType.IsLoadableFloat())
            throw new LetheException($"{Path}: tensor {SafeTensorsHeader.Quote(name)}: {e.DType.NotLoadableReason()}");
        var result = Tensor.ZerosPersistent(e.Shape, dtype, pooled: true).Named(name);   // a weight: lives as long as its model
        WithMapping(p => ElementConversion.Convert(p + e.FileOffset, e.DType, result.BytePtr, dtype, e.ElementCount));
        return result;
    }

    /// <summary>Any integer tensor (BOOL, U8..U64, I8..I64), widened to long; U64 values above long.MaxValue are an error.</summary>
    public long[] ReadInt64(string name) => ReadIntegers(name, long.MinValue, long.MaxValue, (long v) => v);

    /// <summary>Any integer tensor whose values fit an int; a value outside the int range is an error.</summary>
    public int[] ReadInt32(string name) => ReadIntegers(name, int.MinValue, int.MaxValue, (long v) => (int)v);

    /// <summary>
    /// The elements as an array of the matching .NET type, copied: long I64, int I32, short I16,
    /// sbyte I8, byte U8, bool BOOL, ushort U16, uint U32, ulong U64, double F64, float F32, Half F16.
    /// </summary>
    public T[] ReadArray<T>(string name) where T : unmanaged
    {
        var e = Entry(name);
        var expected = ArrayDType<T>();
        if (e.DType != expected)
            throw new LetheException($"{Path}: tensor {SafeTensorsHeader.Quote(name)} is {e.DType}, not {expected}; read it as {ClrTypeName(e.DType)}");
        var result = new T[CheckArrayLength(e)];
        WithMapping(p =>
        {
            fixed (T* dst = result) Buffer.MemoryCopy(p + e.FileOffset, dst, e.ByteCount, e.ByteCount);
            if (typeof(T) == typeof(bool)) CheckBooleans(e, p + e.FileOffset);
        });
        return result;
    }

    /// <summary>The tensor's raw little-endian bytes, copied (any dtype, e.g. to pass F8 tensors through unchanged).</summary>
    public byte[] ReadBytes(string name)
    {
        var e = Entry(name);
        if (e.ByteCount > Array.MaxLength)
            throw new LetheException($"{Path}: tensor {SafeTensorsHeader.Quote(name)} has {e.ByteCount} bytes, more than one .NET array can hold; load it with Load() instead");
        var result = new byte[e.ByteCount];
        WithMapping(p => new ReadOnlySpan<byte>(p + e.FileOffset, result.Length).CopyTo(result));
        return result;
    }

    /// <summary>Counts NaN and Inf values of a float tensor (integers are always finite).</summary>
    public NonFiniteCount CountNonFinite(string name)
    {
        var e = Entry(name);
        NonFiniteCount count = default;
        WithMapping(p => count = ElementConversion.CountNonFinite(p + e.FileOffset, e.DType, e.ElementCount));
        return count;
    }

    /// <summary>Throws a LetheException naming the file and tensor when the tensor holds NaN or Inf.</summary>
    public void CheckFinite(string name)
    {
        var c = CountNonFinite(name);
        if (!c.AllFinite)
            throw new LetheException($"{Path}: tensor {SafeTensorsHeader.Quote(name)} holds {c.NaN} NaN and {c.Infinite} infinite values (first at flat index {c.FirstIndex}); the checkpoint is corrupt or diverged in training — use another checkpoint");
    }

    /// <summary>
    /// Lets the tensor's pages leave this process's resident memory (MappedFile.ReleasePages): a
    /// hint after a pass over them; a later read brings them back. Tensors of this file stay valid.
    /// </summary>
    public void ReleasePages(string name)
    {
        var e = Entry(name);
        WithMapping(_ => mapping.ReleasePages(e.FileOffset, e.ByteCount));
    }

    /// <summary>CheckFinite on every tensor, in file order.</summary>
    public void CheckAllFinite()
    {
        foreach (var e in header.EntriesByOffset) CheckFinite(e.Name);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0) mapping.Dispose();
    }

    public override string ToString() => $"SafeTensorsFile({Path}, {header.EntriesByOffset.Count} tensors)";

    // ---- helpers ----

    private MappedFile Mapping()
    {
        if (Volatile.Read(ref disposed) != 0)
            throw new LetheException($"{Path}: the file was closed; open it again before loading tensors from it");
        return mapping;
    }

    private delegate void PointerAction(byte* p);

    /// <summary>Runs read with the mapping's base pointer, holding a reference so a concurrent Dispose cannot unmap it.</summary>
    private void WithMapping(PointerAction read)
    {
        var m = Mapping();
        m.AddReference();
        try { read(m.Pointer); }
        finally { m.Release(); }
    }

    private TOut[] ReadIntegers<TOut>(string name, long min, long max, Func<long, TOut> narrow) where TOut : unmanaged
    {
        var e = Entry(name);
        if (!e.DType.IsInteger())
            throw new LetheException($"{Path}: tensor {SafeTensorsHeader.Quote(name)} is {e.DType}, not an integer type; load it with Load() or LoadAs()");
        var result = new TOut[CheckArrayLength(e)];
        WithMapping(p =>
        {
            byte* s = p + e.FileOffset;
            for (long i = 0; i < result.LongLength; i++)
            {
                long v;
                switch (e.DType)
                {
                    case SafeTensorsDType.BOOL:
                        if (s[i] > 1) throw BadBoolean(e, i, s[i]);
                        v = s[i];
                        break;
                    case SafeTensorsDType.U8: v = s[i]; break;
                    case SafeTensorsDType.I8: v = ((sbyte*)s)[i]; break;
                    case SafeTensorsDType.I16: v = ((short*)s)[i]; break;
                    case SafeTensorsDType.U16: v = ((ushort*)s)[i]; break;
                    case SafeTensorsDType.I32: v = ((int*)s)[i]; break;
                    case SafeTensorsDType.U32: v = ((uint*)s)[i]; break;
                    case SafeTensorsDType.I64: v = ((long*)s)[i]; break;
                    default:
                        ulong u = ((ulong*)s)[i];
                        if (u > long.MaxValue) throw OutOfRange(e, i, u.ToString(), typeof(TOut));
                        v = (long)u;
                        break;
                }
                if (v < min || v > max) throw OutOfRange(e, i, v.ToString(), typeof(TOut));
                result[i] = narrow(v);
            }
        });
        return result;
    }

    private long CheckArrayLength(SafeTensorsEntry e)
    {
        if (e.ElementCount > Array.MaxLength)
            throw new LetheException($"{Path}: tensor {SafeTensorsHeader.Quote(e.Name)} has {e.ElementCount} elements, more than one .NET array can hold; load it with Load() instead");
        return e.ElementCount;
    }

    private void CheckBooleans(SafeTensorsEntry e, byte* s)
    {
        for (long i = 0; i < e.ElementCount; i++)
            if (s[i] > 1) throw BadBoolean(e, i, s[i]);
    }

    private LetheException BadBoolean(SafeTensorsEntry e, long index, byte value) =>
        new($"{Path}: tensor {SafeTensorsHeader.Quote(e.Name)} is BOOL but element {index} is {value} (only 0 and 1 are booleans); the file is corrupt — re-download or re-save it");

    private LetheException OutOfRange(SafeTensorsEntry e, long index, string value, Type target) =>
        new($"{Path}: tensor {SafeTensorsHeader.Quote(e.Name)} ({e.DType}) element {index} = {value} does not fit {target.Name}; read it with {(target == typeof(int) ? "ReadInt64" : "ReadArray<ulong>")}");

    private static SafeTensorsDType ArrayDType<T>() where T : unmanaged
    {
        var t = typeof(T);
        if (t == typeof(long)) return SafeTensorsDType.I64;
        if (t == typeof(int)) return SafeTensorsDType.I32;
        if (t == typeof(short)) return SafeTensorsDType.I16;
        if (t == typeof(sbyte)) return SafeTensorsDType.I8;
        if (t == typeof(byte)) return SafeTensorsDType.U8;
        if (t == typeof(bool)) return SafeTensorsDType.BOOL;
        if (t == typeof(ushort)) return SafeTensorsDType.U16;
        if (t == typeof(uint)) return SafeTensorsDType.U32;
        if (t == typeof(ulong)) return SafeTensorsDType.U64;
        if (t == typeof(double)) return SafeTensorsDType.F64;
        if (t == typeof(float)) return SafeTensorsDType.F32;
        if (t == typeof(Half)) return SafeTensorsDType.F16;
        throw new LetheException($"safetensors: {t.Name} has no safetensors dtype; use long, int, short, sbyte, byte, bool, ushort, uint, ulong, double, float or Half");
    }

    internal static SafeTensorsDType DTypeOf<T>() where T : unmanaged => ArrayDType<T>();

    private static string ClrTypeName(SafeTensorsDType t) => t switch
    {
        SafeTensorsDType.I64 => "ReadArray<long>",
        SafeTensorsDType.I32 => "ReadArray<int>",
        SafeTensorsDType.I16 => "ReadArray<short>",
        SafeTensorsDType.I8 => "ReadArray<sbyte>",
        SafeTensorsDType.U8 => "ReadArray<byte>",
        SafeTensorsDType.BOOL => "ReadArray<bool>",
        SafeTensorsDType.U16 => "ReadArray<ushort>",
        SafeTensorsDType.U32 => "ReadArray<uint>",
        SafeTensorsDType.U64 => "ReadArray<ulong>",
        SafeTensorsDType.F64 => "ReadArray<double> or LoadAs",
        SafeTensorsDType.F32 => "ReadArray<float> or Load",
        SafeTensorsDType.F16 => "ReadArray<Half> or Load",
        SafeTensorsDType.BF16 => "Load",
        _ => "ReadBytes",
    };
}

internal static class TensorNaming
{
    /// <summary>Sets the tensor's name (used in error messages) and returns it.</summary>
    public static Tensor Named(this Tensor t, string name)
    {
        t.Name = name;
        return t;
    }
}
