namespace RealTimeInference.Server.Health;

/// <summary>
/// <c>--health-check URL</c>: GETs the address and answers with the exit code (0 on a 2xx answer, 1 otherwise),
/// so a container image without curl can run its <c>HEALTHCHECK</c> with the server's own binary.
/// </summary>
internal static class HealthProbe
{
    public const string Argument = "--health-check";

    public static async Task<int> RunAsync(string url, TextWriter output)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            await output.WriteLineAsync($"{Argument} needs an http(s) address, e.g. http://127.0.0.1:8000/health/live; got '{url}'.").ConfigureAwait(false);
            return 2;
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(address).ConfigureAwait(false);
            await output.WriteLineAsync($"{address}: {(int)response.StatusCode}").ConfigureAwait(false);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await output.WriteLineAsync($"{address}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
