namespace RealTimeInference.Bench;

/// <summary>The bench programs' options: <c>--name value</c> pairs over a program's own defaults.</summary>
internal static class BenchOptions
{
    /// <summary>
    /// Sets <paramref name="settings"/> from the pairs in <paramref name="args"/> from <paramref name="start"/> on;
    /// false, with the known options written to stderr, when a name is unknown or has no value.
    /// </summary>
    public static bool TryApply(string[] args, int start, Dictionary<string, string> settings)
    {
        for (var i = start; i < args.Length; i += 2)
        {
            if (!settings.ContainsKey(args[i]) || i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"unknown option or missing value: {args[i]}; options: {string.Join(' ', settings.Keys)}");
                return false;
            }

            settings[args[i]] = args[i + 1];
        }

        return true;
    }
}
