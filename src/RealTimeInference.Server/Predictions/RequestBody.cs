using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace RealTimeInference.Server.Predictions;

/// <summary>
/// Reads a whole body under a size limit. (A wrong Content-Type never gets here: the endpoints'
/// Accepts metadata makes routing answer 415.)
/// </summary>
internal static class RequestBody
{
    /// <summary>
    /// Buffers the body; the caller must <see cref="PipeReader.AdvanceTo(SequencePosition)"/> past it.
    /// Returns null when the body is larger than <paramref name="maxBytes"/>.
    /// </summary>
    public static async ValueTask<ReadOnlySequence<byte>?> ReadAsync(HttpContext context, long maxBytes)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            return null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        var reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                if (result.Buffer.Length > maxBytes)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    return null;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return result.Buffer;
                }

                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }
}
