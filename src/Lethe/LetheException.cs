// The one exception type for problems a user can cause (bad path, bad file, wrong shape, unknown
// architecture, malformed data). Its message names the file or operation, the place, and the fix;
// the CLI prints it without a stack trace and exits with code 1.
// A message about a parameter's value names the library's own parameter (snake_case, as the
// options records and MethodSettings spell it: "threads must be at least 1, got 0") and lists it in
// Parameters; a front end shows its own spelling instead (the CLI replaces each listed name, as a
// whole word, by its flag: "--threads must be at least 1, got 0"). The library never names a flag.
namespace Lethe;

public class LetheException : Exception
{
    public LetheException(string message) : base(message) { }
    public LetheException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Library parameter names that occur in the message as whole words (the first occurrence of each names it).</summary>
    public IReadOnlyList<string> Parameters { get; init; } = Array.Empty<string>();

    /// <summary>A message about the value of one or more parameters, each named in it as a whole word.</summary>
    public static LetheException About(string message, params string[] parameters) => new(message) { Parameters = parameters };
}

/// <summary>Two tensors (or a tensor and an expectation) disagree in shape. Names the op and both shapes.</summary>
public sealed class ShapeMismatchException : LetheException
{
    public ShapeMismatchException(string op, string detail) : base($"{op}: {detail}") { }

    public static ShapeMismatchException Of(string op, string whatA, ReadOnlySpan<int> a, string whatB, ReadOnlySpan<int> b) =>
        new(op, $"{whatA} has shape {Tensors.Shape.Format(a)} but {whatB} has shape {Tensors.Shape.Format(b)}");
}
