// A minimal xunit runner: every [Fact] and every row of every [Theory] of the test classes whose
// names contain one of the arguments, run one after another on this thread, each failure printed.
// It exists to run the engine's tests on another architecture (linux-arm64 under qemu-user, where
// the VSTest host cannot start); class fixtures and output helpers are supported simply (fixtures
// are made with their parameterless constructors). Exit code 1 if any test failed.
using System.Reflection;
using Xunit;
using Xunit.Sdk;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Lethe.Arm64TestRunner CLASS_NAME_PART...   (e.g. GemmTests WidenTests)");
    return 2;
}
var assembly = typeof(Lethe.Tests.Engine.GemmTests).Assembly;
var classes = assembly.GetTypes()
    .Where(t => t.IsClass && !t.IsAbstract && t.IsPublic && args.Any(a => t.FullName!.Contains(a, StringComparison.Ordinal)))
    .OrderBy(t => t.FullName).ToList();
int passed = 0, failed = 0, skipped = 0;
var clock = System.Diagnostics.Stopwatch.StartNew();
foreach (var type in classes)
{
    var tests = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
        .Where(m => m.GetCustomAttribute<FactAttribute>() is not null).ToList();
    if (tests.Count == 0) continue;
    // A constructor's arguments: class fixtures (made once per class, disposed after it) and test output.
    var constructor = type.GetConstructors().OrderBy(c => c.GetParameters().Length).First();
    var fixtures = new List<object>();
    object?[] arguments;
    try
    {
        arguments = constructor.GetParameters().Select(p =>
        {
            if (p.ParameterType == typeof(Xunit.Abstractions.ITestOutputHelper)) return (object)new ConsoleOutput();
            var fixture = Activator.CreateInstance(p.ParameterType)!;
            fixtures.Add(fixture);
            return fixture;
        }).ToArray();
    }
    catch (Exception e)
    {
        Console.WriteLine($"SKIP {type.FullName}: its constructor's arguments could not be made ({e.GetType().Name}: {e.Message})");
        skipped += tests.Count;
        continue;
    }
    foreach (var method in tests)
    {
        var fact = method.GetCustomAttribute<FactAttribute>()!;
        if (fact.Skip is not null) { skipped++; continue; }
        var rows = fact is TheoryAttribute
            ? method.GetCustomAttributes<DataAttribute>().SelectMany(d => d.GetData(method)).ToList()
            : new List<object[]> { Array.Empty<object>() };
        foreach (var row in rows)
        {
            string name = $"{type.Name}.{method.Name}({string.Join(", ", row.Select(r => r?.ToString() ?? "null"))})";
            try
            {
                object? instance = method.IsStatic ? null : constructor.Invoke(arguments);
                var result = method.Invoke(instance, row.Length == 0 ? null : row);
                if (result is Task task) task.GetAwaiter().GetResult();
                (instance as IDisposable)?.Dispose();
                passed++;
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } x } ? x : e;
                Console.WriteLine($"FAIL {name}: {inner.GetType().Name}: {inner.Message}");
                failed++;
            }
        }
    }
    foreach (var fixture in fixtures) (fixture as IDisposable)?.Dispose();
}
Console.WriteLine($"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}: {passed} passed, {failed} failed, {skipped} skipped, in {clock.Elapsed.TotalSeconds:F0} s ({classes.Count} classes matched)");
return failed == 0 ? 0 : 1;

/// <summary>ITestOutputHelper for tests that write diagnostics: to stdout.</summary>
internal sealed class ConsoleOutput : Xunit.Abstractions.ITestOutputHelper
{
    public void WriteLine(string message) => Console.WriteLine("  " + message);
    public void WriteLine(string format, params object[] args) => Console.WriteLine("  " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
}
