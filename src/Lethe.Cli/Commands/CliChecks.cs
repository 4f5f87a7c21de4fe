// Range checks for option values, so every verb refuses nonsense the same way before any work:
// NaN fails every check (each is written as "not inside"), and the message names the option, the
// allowed range and the value given. Output paths go through OutputPolicy (Outputs below).
using System.CommandLine;
using System.Globalization;
using Lethe.IO;

namespace Lethe.Cli.Commands;

internal static class CliChecks
{
    /// <summary>The --force option of a verb that writes: replace an existing output Lethe did not write for this verb (never an input).</summary>
    public static Option<bool> Force() => new("--force") { Description = "Replace an existing output that is not this verb's own previous output (inputs are never written, even with --force)" };

    /// <summary>The output policy of a verb, with --force read from the parse.</summary>
    public static OutputPolicy Outputs(ParseResult parse, string verb, Option<bool>? force) => new(verb, force is not null && parse.GetValue(force));

    private static string Show(double v) => v.ToString("G", CultureInfo.InvariantCulture);

    public static int AtLeast(int value, int min, string option) =>
        value >= min ? value : throw new LetheException($"{option} must be ≥ {min}, got {value}");

    public static int? AtLeast(int? value, int min, string option) => value is int v ? AtLeast(v, min, option) : null;

    /// <summary>A finite number in [min, max] (either bound open when asked).</summary>
    public static double InRange(double value, string option, double min, double max, bool minOpen = false, bool maxOpen = false)
    {
        bool ok = double.IsFinite(value) && (minOpen ? value > min : value >= min) && (maxOpen ? value < max : value <= max);
        if (ok) return value;
        string range = $"{(minOpen ? "(" : "[")}{Show(min)}, {(double.IsPositiveInfinity(max) ? "∞)" : Show(max) + (maxOpen ? ")" : "]"))}";
        throw new LetheException($"{option} must be a finite number in {range}, got {Show(value)}");
    }

    public static double? InRange(double? value, string option, double min, double max, bool minOpen = false, bool maxOpen = false) =>
        value is double v ? InRange(v, option, min, max, minOpen, maxOpen) : null;
}
