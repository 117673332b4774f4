namespace RealTimeInference.LoadTest.Http;

/// <summary>Sends one POST and reads the whole response; expected failures come back as outcomes.</summary>
internal sealed class RequestSender(HttpClient client, TimeSpan timeout, TimeProvider time)
{
    public async Task<RequestOutcome> SendAsync(Uri uri, byte[] body)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
            using var response = await client
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeoutSource.Token)
                .ConfigureAwait(false);
            await response.Content.CopyToAsync(Stream.Null, timeoutSource.Token).ConfigureAwait(false);
            return new RequestOutcome(OutcomeKind.Response, (int)response.StatusCode);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested)
        {
            return RequestOutcome.TimedOut;
        }
        catch (HttpRequestException)
        {
            return RequestOutcome.Failed;
        }
        catch (IOException)
        {
            return RequestOutcome.Failed;
        }
    }
}
