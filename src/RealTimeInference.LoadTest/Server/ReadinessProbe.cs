namespace RealTimeInference.LoadTest.Server;

/// <summary>How waiting for <c>GET /health/ready</c> ended.</summary>
internal sealed record ReadinessResult(bool Ready, TimeSpan Elapsed, int? LastStatus, string? LastError)
{
    /// <summary>True when not a single HTTP response came back: nothing is listening there.</summary>
    public bool Unreachable => !Ready && LastStatus is null;
}

internal static class ReadinessProbe
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Polls until a 200, the timeout, or <paramref name="giveUp"/> says to stop (the launched server exited, nothing listens).</summary>
    public static async Task<ReadinessResult> WaitAsync(
        HttpClient client,
        Uri readyUri,
        TimeSpan timeout,
        TimeSpan interval,
        TimeProvider time,
        Func<ReadinessResult, bool> giveUp,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        int? lastStatus = null;
        string? lastError = null;
        while (true)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(AttemptTimeout);
            try
            {
                using var response = await client.GetAsync(readyUri, attempt.Token).ConfigureAwait(false);
                lastStatus = (int)response.StatusCode;
                if (lastStatus == 200)
                {
                    return new ReadinessResult(true, time.GetElapsedTime(started), lastStatus, null);
                }
            }
            catch (HttpRequestException exception)
            {
                lastError = exception.Message;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                lastError = "no answer within " + AttemptTimeout.TotalSeconds + "s";
            }

            var soFar = new ReadinessResult(false, time.GetElapsedTime(started), lastStatus, lastError);
            if (soFar.Elapsed >= timeout || giveUp(soFar))
            {
                return soFar;
            }

            await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
