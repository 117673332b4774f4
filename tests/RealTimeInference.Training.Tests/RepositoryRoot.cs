namespace RealTimeInference.Training.Tests;

internal static class RepositoryRoot
{
    /// <summary>The folder holding RealTimeInference.sln, found by walking up from the test binaries.</summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "RealTimeInference.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No RealTimeInference.sln above {AppContext.BaseDirectory}.");
    }
}
