// The numeric codes of the GGUF container (metadata value types) and of ggml's tensor element
// types, with each tensor type's block geometry. Only the types Lethe reads are listed as
// supported; any other code in a file is an error naming the tensor and the code (GgufFile).
namespace Lethe.IO.Gguf;

/// <summary>Metadata value types of GGUF v2/v3 (gguf_type).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>ggml tensor element types that Lethe reads (ggml_type codes).</summary>
public enum GgmlType : uint
{
    F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, Q4_K = 12, Q6_K = 14, BF16 = 30,
}

public static class GgufTypes
{
    /// <summary>Bytes of one scalar metadata value (0 for strings and arrays, whose size varies).</summary>
    public static int ScalarSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    /// <summary>The fewest bytes one value of this type occupies in a file (strings: the 8-byte length; arrays: type + count).</summary>
    public static int MinSize(GgufValueType t) => t switch
    {
        GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => ScalarSize(t),
    };

    public static bool IsKnown(GgufValueType t) => (uint)t <= (uint)GgufValueType.Float64;

    public static bool IsSupported(GgmlType t) => Enum.IsDefined(t);

    /// <summary>(values per block, bytes per block) of a tensor type.</summary>
    public static (int values, int bytes) Block(GgmlType t) => t switch
    {
        GgmlType.F32 => (1, 4),
        GgmlType.F16 or GgmlType.BF16 => (1, 2),
        GgmlType.Q8_0 => (32, 34),
        GgmlType.Q4_0 => (32, 18),
        GgmlType.Q4_K => (256, 144),
        GgmlType.Q6_K => (256, 210),
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "not a supported ggml type"),
    };

    public static string Supported => string.Join(", ", Enum.GetNames<GgmlType>());

    /// <summary>ggml's names of the types it defines, for error messages about the ones Lethe does not read.</summary>
    public static string NameOfCode(uint code) => code switch
    {
        0 => "F32", 1 => "F16", 2 => "Q4_0", 3 => "Q4_1", 6 => "Q5_0", 7 => "Q5_1", 8 => "Q8_0", 9 => "Q8_1",
        10 => "Q2_K", 11 => "Q3_K", 12 => "Q4_K", 13 => "Q5_K", 14 => "Q6_K", 15 => "Q8_K",
        16 => "IQ2_XXS", 17 => "IQ2_XS", 18 => "IQ3_XXS", 19 => "IQ1_S", 20 => "IQ4_NL", 21 => "IQ3_S", 22 => "IQ2_S",
        23 => "IQ4_XS", 24 => "I8", 25 => "I16", 26 => "I32", 27 => "I64", 28 => "F64", 29 => "IQ1_M", 30 => "BF16",
        34 => "TQ1_0", 35 => "TQ2_0", 39 => "MXFP4",
        _ => $"unknown type {code}",
    };
}
