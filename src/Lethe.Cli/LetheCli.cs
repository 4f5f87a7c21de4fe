// Builds the command tree and runs it with the project's exit-code conventions:
// 0 success; 1 a problem with the user's input (LetheException: message only, no stack trace);
// 2 an internal error, i.e. a bug in Lethe (stack trace with --verbose); 130 interrupted. Errors of
// the environment (permissions, a read-only or full disk, a symlink loop) count as the user's: 1.
using System.CommandLine;
using Lethe.Cli.Commands;

namespace Lethe.Cli;

public static class LetheCli
{
    public static readonly Option<int?> Threads = new("--threads") { Description = "Threads for kernels (default: all cores)", Recursive = true };
    public static readonly Option<ulong?> Seed = new("--seed") { Description = "Seed for everything random", Recursive = true };
    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "No progress output", Recursive = true };
    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "More output; stack traces on internal errors", Recursive = true };

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("Lethe: unlearning for transformer language models, on a CPU.");
        root.Add(Threads); root.Add(Seed); root.Add(Quiet); root.Add(Verbose);
        foreach (var command in CommandRegistry.All()) root.Add(command);
        return root;
    }

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var root = BuildRoot();
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        if (stdout != null) config.Output = stdout;
        if (stderr != null) config.Error = stderr;
        var err = stderr ?? Console.Error;
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            if (parse.GetValue(Threads) is int t) Lethe.Tensors.Engine.Threads = t;
            return parse.InvokeAsync(config, cts.Token).GetAwaiter().GetResult();
        }
        catch (LetheException e)
        {
            err.WriteLine($"error: {CliFlags.Translate(e)}");
            return 1;
        }
        catch (Exception e) when (EnvironmentError(e) is { } message)
        {
            err.WriteLine($"error: {message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            err.WriteLine("interrupted");
            return 130;
        }
        catch (Exception e)
        {
            bool verbose = parse.GetValue(Verbose);
            err.WriteLine(verbose ? $"internal error: {e}" : $"internal error: {e.GetType().Name}: {e.Message} (run with --verbose for the stack trace)");
            return 2;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>
    /// Errors the machine or the user's files cause rather than Lethe (a read-only or full disk, a
    /// permission, a symlink loop, a path that vanished): exit 1 with the system's own message.
    /// Places that can name the file and the fix throw LetheException themselves; this is the net.
    /// </summary>
    private static string? EnvironmentError(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        if (e is LetheException l) return CliFlags.Translate(l);
        return e switch
        {
            UnauthorizedAccessException => $"{e.Message} (permission denied or a read-only file system); check the path's permissions",
            IOException => $"{e.Message}; check the path, the free disk space and that the file system is writable",
            System.Text.DecoderFallbackException => $"a file is not valid UTF-8 ({e.Message}); convert it to UTF-8",
            _ => null,
        };
    }
}
