// Library parameter names ↔ command-line flags. The library names its own parameters in its errors
// (snake_case, listed in LetheException.Parameters); Translate shows each as the flag the user typed
// (threads → --threads, max_new_tokens → --max-new-tokens), with a table for the few flags that are
// not the parameter's name with dashes. Method verbs (`unlearn METHOD`) get a flag per declared
// parameter from MethodFlags, so a method's parameters and its flags cannot drift apart.
using System.CommandLine;
using System.Text.RegularExpressions;
using Lethe.Unlearning.Training;

namespace Lethe.Cli.Commands;

public static class CliFlags
{
    /// <summary>Library parameters whose flag is not "--" + the name with dashes.</summary>
    private static readonly Dictionary<string, string> Renamed = new()
    {
        ["world_dir"] = "--data",          // eval: the world folder
        ["data_files"] = "--data",         // train: the training text
        ["out_dir"] = "--out",             // world generate
        ["python_executable"] = "--python",
        ["target"] = "--to",               // convert
    };

    public static string Flag(string parameter) => Renamed.TryGetValue(parameter, out var f) ? f : "--" + parameter.Replace('_', '-');

    /// <summary>The exception's message with each parameter it lists replaced (first whole-word occurrence) by its flag.</summary>
    public static string Translate(LetheException e)
    {
        string message = e.Message;
        foreach (var p in e.Parameters.Distinct())
            message = new Regex($@"(?<![\w\-]){Regex.Escape(p)}(?![\w\-])").Replace(message, Flag(p).Replace("$", "$$"), 1);
        return message;
    }
}

/// <summary>A flag per declared parameter of a method (string-valued; the method parses and checks).</summary>
public sealed class MethodFlags
{
    private readonly List<(string Name, Option<string?> Option)> flags = new();

    public MethodFlags(IUnlearningMethod method, Command cmd)
    {
        foreach (var p in method.Parameters)
        {
            string presets = p.Presets.Count == 0 ? "" : "; " + string.Join(", ", p.Presets.Select(kv => $"{kv.Key}: {kv.Value}"));
            string shown = p.Default == "" ? "unset" : p.Default;
            var o = new Option<string?>(CliFlags.Flag(p.Name), p.Aliases.Select(CliFlags.Flag).ToArray()) { Description = $"{p.Help} (default {shown}{presets})" };
            if (p.Choices is { } choices) o.AcceptOnlyFromAmong(choices);
            cmd.Add(o);
            flags.Add((p.Name, o));
        }
    }

    /// <summary>The parameters the user set, by library name.</summary>
    public Dictionary<string, string> Given(ParseResult parse) =>
        flags.Where(f => parse.GetValue(f.Option) is not null).ToDictionary(f => f.Name, f => parse.GetValue(f.Option)!);
}
