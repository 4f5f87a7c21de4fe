// The key/value metadata of a GGUF file with typed access whose errors name the file and the key.
// Values keep the file's types: integers as long/ulong, floats as double, arrays as typed .NET
// arrays (string[], float[], int[], ... or GgufValue[] for nested arrays).
namespace Lethe.IO.Gguf;

/// <summary>One metadata value: its GGUF type and the value (for arrays, the element type too).</summary>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    public static GgufValue Of(string s) => new(GgufValueType.String, s);
    public static GgufValue Of(uint v) => new(GgufValueType.UInt32, (ulong)v);
    public static GgufValue Of(int v) => new(GgufValueType.Int32, (long)v);
    public static GgufValue Of(float v) => new(GgufValueType.Float32, (double)v);
    public static GgufValue Of(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue Of(string[] v) => new(GgufValueType.Array, v, GgufValueType.String);
    public static GgufValue Of(float[] v) => new(GgufValueType.Array, v, GgufValueType.Float32);
    public static GgufValue Of(int[] v) => new(GgufValueType.Array, v, GgufValueType.Int32);

    /// <summary>A short description for messages (arrays: element type and length).</summary>
    public string Describe() => Type == GgufValueType.Array
        ? $"an array of {((System.Array)Value).Length} {ElementType}"
        : Type == GgufValueType.String ? $"the string \"{Truncate((string)Value)}\"" : $"{Type} {Value}";

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "...";
}

public sealed class GgufMetadata
{
    private readonly Dictionary<string, GgufValue> values;

    /// <summary>The file the metadata came from (for messages).</summary>
    public string Source { get; }

    public GgufMetadata(Dictionary<string, GgufValue> values, string source) { this.values = values; Source = source; }

    public IReadOnlyDictionary<string, GgufValue> All => values;
    public bool Has(string key) => values.ContainsKey(key);
    public GgufValue? Get(string key) => values.GetValueOrDefault(key);

    private LetheException Wrong(string key, string expected) =>
        new($"{Source}: metadata '{key}' must be {expected}, but it is {values[key].Describe()}; the file does not follow the GGUF conventions for this field");

    public LetheException Missing(string key, string what) =>
        new($"{Source}: metadata '{key}' is missing; it must give {what} (convert the model again with a current llama.cpp converter)");

    public string String(string key) => OptionalString(key) ?? throw Missing(key, "a string");

    public string? OptionalString(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        return v.Type == GgufValueType.String ? (string)v.Value : throw Wrong(key, "a string");
    }

    public long? OptionalInteger(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        return v.Value switch
        {
            long l => l,
            ulong u when u <= long.MaxValue => (long)u,
            _ => throw Wrong(key, "an integer"),
        };
    }

    /// <summary>An integer in [min, max] (inclusive), or null when absent.</summary>
    public int? OptionalInt(string key, int min = 0, int max = int.MaxValue)
    {
        long? v = OptionalInteger(key);
        if (v is null) return null;
        if (v < min || v > max) throw new LetheException($"{Source}: metadata '{key}' is {v}, outside [{min}, {max}]; the file is corrupt or describes an unsupported model");
        return (int)v;
    }

    public int Int(string key, int min = 0, int max = int.MaxValue) => OptionalInt(key, min, max) ?? throw Missing(key, "an integer");

    public double? OptionalFloat(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        double d = v.Value switch { double x => x, long l => l, ulong u => u, _ => throw Wrong(key, "a number") };
        return double.IsFinite(d) ? d : throw Wrong(key, "a finite number");
    }

    public bool? OptionalBool(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        return v.Value is bool b ? b : throw Wrong(key, "true or false");
    }

    public string[]? OptionalStrings(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        return v.Value is string[] s ? s : throw Wrong(key, "an array of strings");
    }

    /// <summary>A numeric array as float (f32 arrays as they are; integer arrays converted).</summary>
    public float[]? OptionalFloats(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        return v.Value switch
        {
            float[] f => f,
            double[] d => d.Select(x => (float)x).ToArray(),
            _ => throw Wrong(key, "an array of numbers"),
        };
    }

    /// <summary>An integer array as int (each element range-checked).</summary>
    public int[]? OptionalInts(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        int Check(long x) => x is >= int.MinValue and <= int.MaxValue ? (int)x : throw Wrong(key, "an array of 32-bit integers");
        return v.Value switch
        {
            int[] i => i,
            uint[] u => u.Select(x => Check(x)).ToArray(),
            long[] l => l.Select(Check).ToArray(),
            ulong[] u => u.Select(x => x <= int.MaxValue ? (int)x : throw Wrong(key, "an array of 32-bit integers")).ToArray(),
            short[] s => s.Select(x => (int)x).ToArray(),
            ushort[] s => s.Select(x => (int)x).ToArray(),
            sbyte[] s => s.Select(x => (int)x).ToArray(),
            byte[] s => s.Select(x => (int)x).ToArray(),
            _ => throw Wrong(key, "an array of integers"),
        };
    }
}
