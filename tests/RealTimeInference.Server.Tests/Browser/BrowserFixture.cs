using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace RealTimeInference.Server.Tests.Browser;

/// <summary>
/// The real server in its own process on Kestrel at a free loopback port (a browser cannot reach
/// TestServer, and an in-process Kestrel would publish process-wide counters into other tests'
/// /metrics) plus Debian's headless Chromium driven by Playwright; never downloads a browser.
/// One per test class.
/// </summary>
public partial class BrowserFixture : IAsyncLifetime
{
    /// <summary>Debian's chromium package (build/test.sh installs it when missing).</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The server's own results store, deleted with the fixture.</summary>
    private readonly string _results = Path.Combine(Path.GetTempPath(), "rti-results-" + Guid.NewGuid().ToString("N"));
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>Where the server listens, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    /// <summary>Extra Chromium flags, for fixtures that need them (fake camera, ...).</summary>
    protected virtual IEnumerable<string> BrowserArgs => [];

    /// <summary>Extra server arguments (configuration such as <c>--Wafer:MaxImageBytes=1024</c>).</summary>
    protected virtual IEnumerable<string> ServerArgs => [];

    /// <summary>A file under the test output's TestResults folder, for screenshots kept as artifacts.</summary>
    public static string ArtifactPath(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseAddress.ToString() });
        return await context.NewPageAsync();
    }

    public async Task InitializeAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[Path.Combine(AppContext.BaseDirectory, "RealTimeInference.Server.dll"), "--urls", "http://127.0.0.1:0", "--Results:Path=" + Path.Combine(_results, "results.db"), .. ServerArgs])
        {
            start.ArgumentList.Add(argument);
        }

        _server = Process.Start(start)!;
        _server.OutputDataReceived += (_, line) => OnServerLine(line.Data);
        _server.ErrorDataReceived += (_, _) => { };
        _server.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException("The server exited before it listened."));
        _server.EnableRaisingEvents = true;
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        // Kestrel logs its address once the models are loaded (hosted services start first).
        BaseAddress = new Uri((await _listening.Task.WaitAsync(StartTimeout)).ToString().TrimEnd('/') + "/");

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = [.. BrowserArgs],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
        if (Directory.Exists(_results))
        {
            Directory.Delete(_results, recursive: true);
        }
    }

    private void OnServerLine(string? line)
    {
        if (line is not null && ListeningAddress().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups["address"].Value));
        }
    }

    [GeneratedRegex("\"address\":\"(?<address>http://127\\.0\\.0\\.1:[0-9]+)\"")]
    private static partial Regex ListeningAddress();
}
