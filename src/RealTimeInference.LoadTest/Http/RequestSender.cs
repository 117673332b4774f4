namespace RealTimeInference.LoadTest.Http;

/// <summary>Sends one POST and reads the whole response; expected failures come back as outcomes.</summary>
internal sealed class RequestSender(HttpClient client, TimeSpan timeout, TimeProvider time)
{
    public Task<RequestOutcome> SendAsync(Uri uri, byte[] body) => SendAsync(uri, body, RequestSource.Json, null);

    /// <summary>The source's next body, with its content type; its timings collector reads the answer.</summary>
    public Task<RequestOutcome> SendAsync(RequestSource source) => SendAsync(source.Uri, source.NextBody(), source.ContentType, source.Timings);

    private async Task<RequestOutcome> SendAsync(Uri uri, byte[] body, string contentType, ServerTimings? timings)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
            using var response = await client
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeoutSource.Token)
                .ConfigureAwait(false);
            if (timings is not null && response.IsSuccessStatusCode)
            {
                timings.Record(await response.Content.ReadAsByteArrayAsync(timeoutSource.Token).ConfigureAwait(false));
            }
            else
            {
                await response.Content.CopyToAsync(Stream.Null, timeoutSource.Token).ConfigureAwait(false);
            }

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
