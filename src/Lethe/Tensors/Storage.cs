// Raw memory behind tensors. Four kinds: native 64-byte-aligned memory owned by one tensor (freed
// on Dispose, or by the finalizer as a last resort), a slice of a TensorArena (freed when the arena
// is reset), a read-only memory-mapped file region (weights straight from safetensors), and the
// dense values of a weight held as int8 alone, made only if something reads them (DequantizedStorage.cs).
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Lethe.Tensors;

public abstract unsafe class Storage : IDisposable
{
    public const int Alignment = 64;
    private byte* pointer;

    /// <summary>The first byte; null once disposed. A storage whose bytes are made on first use (DequantizedStorage) makes them here.</summary>
    public byte* Pointer
    {
        get => pointer != null ? pointer : Materialize();
        protected set => pointer = value;
    }

    public long ByteLength { get; protected set; }
    public virtual bool ReadOnly => false;
    public abstract void Dispose();

    /// <summary>Called when Pointer is still null: the bytes of a storage that makes them late, or null (disposed).</summary>
    protected virtual byte* Materialize() => null;
}

/// <summary>
/// Native memory, zero-filled: 2 MB pages from 2 MB up, and for long-lived (`pooled`) tensors from
/// 64 KB up (LargePages).
/// </summary>
public sealed unsafe class NativeStorage : Storage
{
    private readonly bool pooled;

    public NativeStorage(long bytes, bool pooled = false)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        ByteLength = bytes;
        this.pooled = pooled;
        Pointer = LargePages.Alloc(bytes, pooled);
        if (bytes > 1 << 20) GC.AddMemoryPressure(bytes);
    }

    ~NativeStorage() => Free();

    public override void Dispose() { Free(); GC.SuppressFinalize(this); }

    private void Free()
    {
        if (Pointer == null) return;
        LargePages.Free(Pointer, ByteLength, pooled);
        Pointer = null;
        if (ByteLength > 1 << 20) GC.RemoveMemoryPressure(ByteLength);
    }
}

/// <summary>A region of an arena block; disposing it does nothing, the arena owns the memory.</summary>
public sealed unsafe class ArenaStorage : Storage
{
    internal ArenaStorage(byte* p, long bytes) { Pointer = p; ByteLength = bytes; }
    public override void Dispose() { }
}

/// <summary>
/// A read-only view of part of a memory-mapped file. Pages are loaded on first touch. Either maps its
/// own region, or is cut from a MappedFile shared by many tensors (one mapping per safetensors file).
/// </summary>
public sealed unsafe class MappedStorage : Storage
{
    private readonly MappedFile mapping;
    private int disposed;

    public string Path => mapping.Path;
    public override bool ReadOnly => true;

    /// <summary>Maps [offset, offset + length) of the file at path, read-only, for this storage alone.</summary>
    public MappedStorage(string path, long offset, long length)
    {
        mapping = new MappedFile(path, offset, length); // the storage takes over the opener's reference
        Pointer = mapping.Pointer;
        ByteLength = length;
    }

    /// <summary>The bytes [offset, offset + length) of a shared mapping; holds a reference until disposed.</summary>
    public MappedStorage(MappedFile file, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > file.Length - length)
            throw new LetheException($"{file.Path}: region [{offset}, {offset + length}) lies outside the mapped {file.Length} bytes; the file is truncated or its header is wrong");
        file.AddReference();
        mapping = file;
        Pointer = file.Pointer + offset;
        ByteLength = length;
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        Pointer = null;
        mapping.Release();
    }

    /// <summary>
    /// Tells the OS that the pages lying wholly inside [Pointer + offset, + bytes) are not needed
    /// now, so they leave this process's resident memory (MappedFile.ReleasePages). Used once a
    /// matrix has an int8 copy that is read instead of it.
    /// </summary>
    public void ReleasePages(long offset, long bytes)
    {
        if (Pointer == null || offset < 0 || bytes <= 0 || offset > ByteLength - bytes) return;
        mapping.ReleasePages(Pointer - mapping.Pointer + offset, bytes);
    }
}

/// <summary>
/// One read-only memory mapping of a file (whole, or one window), shared by the MappedStorage views
/// cut from it. Reference-counted so that disposing the file while tensors still view it cannot
/// leave them dangling: the opener holds one reference, each storage one, and the pages are unmapped
/// when the last is released. If everything is dropped without Dispose the finalizer unmaps (no
/// storage can still point into it then, since storages keep this object alive).
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? file;
    private readonly MemoryMappedViewAccessor? view;
    private int references = 1;
    private int openerReleased;

    public string Path { get; }
    /// <summary>Address of the first mapped byte; null for an empty region or once unmapped.</summary>
    public byte* Pointer { get; private set; }
    /// <summary>Mapped bytes.</summary>
    public long Length { get; }

    /// <summary>Maps the whole file.</summary>
    public MappedFile(string path) : this(path, 0, -1) { }

    /// <summary>Maps [offset, offset + length) of the file; length -1 maps to the end of the file.</summary>
    public MappedFile(string path, long offset, long length)
    {
        Path = path;
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LetheException($"{path}: cannot open the file for reading ({e.Message}); check the path and its permissions", e);
        }
        try
        {
            long fileLength = stream.Length;
            if (length == -1) length = fileLength - offset;
            if (offset < 0 || length < 0 || offset > fileLength - length)
                throw new LetheException($"{path}: region [{offset}, {offset + length}) lies outside the file ({fileLength} bytes); the file is truncated or its header is wrong");
            Length = length;
            // An empty region needs no pages (and a view of size 0 would mean "to the end of the file").
            if (length == 0) { stream.Dispose(); return; }
            file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        view = file.CreateViewAccessor(offset, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        Pointer = p + view.PointerOffset;
    }

    internal void AddReference()
    {
        while (true)
        {
            int n = Volatile.Read(ref references);
            if (n <= 0) throw new LetheException($"{Path}: the file was closed; open it again before loading tensors from it");
            if (Interlocked.CompareExchange(ref references, n + 1, n) == n) return;
        }
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref references) == 0) { Unmap(); GC.SuppressFinalize(this); }
    }

    /// <summary>Releases the opener's reference (idempotent); the mapping lives on while storages use it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref openerReleased, 1) == 0) Release();
    }

    ~MappedFile()
    {
        try { Unmap(); } catch (ObjectDisposedException) { }
    }

    /// <summary>
    /// Tells the OS that the pages lying wholly inside [offset, offset + bytes) of the mapping are not
    /// needed now (madvise MADV_DONTNEED), so they leave this process's resident memory. The mapping
    /// is read-only and backed by the file, so nothing is lost: a later read loads the page again
    /// from the page cache or the file. A no-op where madvise is unavailable.
    /// </summary>
    public void ReleasePages(long offset, long bytes)
    {
        if (Pointer == null || offset < 0 || bytes <= 0 || offset > Length - bytes) return;
        long page = Environment.SystemPageSize;
        long start = ((long)(Pointer + offset) + page - 1) / page * page, end = (long)(Pointer + offset + bytes) / page * page;
        if (end <= start) return;
        try { MAdvise((nint)start, (nuint)(end - start), 4 /* MADV_DONTNEED */); }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int MAdvise(nint address, nuint length, int advice);

    private void Unmap()
    {
        if (view == null || Pointer == null) return;
        Pointer = null;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        file!.Dispose();
    }
}
