// Progress bars on stderr for the long steps of a command: fitting an adapter (probe tokens) and
// running evaluation tasks (items). Plain lines when stderr is not a terminal; nothing with --quiet.
using System.CommandLine;
using Lethe.Evaluation;
using Lethe.Unlearning;
using Lethe.Util;

namespace Lethe.Cli.Commands;

internal sealed class CliProgress(string label, bool quiet, TextWriter? stderr) : IFitProgress, IDisposable
{
    private Progress? bar;
    public void Begin(long totalTokens) => bar = new Progress(label, totalTokens, "tok", quiet, stderr);
    public void Advance(long tokens) => bar?.Advance(tokens);
    public void Dispose() { bar?.Dispose(); bar = null; }

    /// <summary>The stderr writer to hand to Progress: null for the console itself (so it can draw a bar).</summary>
    public static TextWriter? Stderr(ParseResult parse) =>
        ReferenceEquals(parse.InvocationConfiguration.Error, Console.Error) ? null : parse.InvocationConfiguration.Error;

    /// <summary>A fit progress bar for a command.</summary>
    public static CliProgress ForFit(ParseResult parse, string label) => new(label, parse.GetValue(LetheCli.Quiet), Stderr(parse));

    /// <summary>One bar per evaluation task (label prefix + task name), for EvalSuite.Run.</summary>
    public static Func<EvalTask, (Action<int> advance, IDisposable done)> ForTasks(ParseResult parse, string prefix = "")
    {
        bool quiet = parse.GetValue(LetheCli.Quiet);
        var stderr = Stderr(parse);
        return task =>
        {
            var bar = new Progress(prefix + task.Name, task.Count, "items", quiet, stderr);
            return (n => bar.Advance(n), bar);
        };
    }
}
