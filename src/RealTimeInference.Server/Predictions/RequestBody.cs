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
    public delegate FieldError? Parser(in ReadOnlySequence<byte> body);

    /// <summary>Reads the body under <paramref name="maxBytes"/> and parses it; an oversized body is a 413 error.</summary>
    public static async ValueTask<FieldError?> ParseAsync(HttpContext context, long maxBytes, Parser parse)
    {
        if (await ReadAsync(context, maxBytes) is not { } body)
        {
            return new FieldError(
                "$", $"The request body exceeds the {maxBytes}-byte limit of {context.Request.Path}.", StatusCodes.Status413PayloadTooLarge);
        }

        try
        {
            return parse(body);
        }
        finally
        {
            context.Request.BodyReader.AdvanceTo(body.End);
        }
    }

    /// <summary>
    /// Buffers the body; the caller must <see cref="PipeReader.AdvanceTo(SequencePosition)"/> past it.
    /// Returns null when the body is larger than <paramref name="maxBytes"/>.
    /// </summary>
    private static async ValueTask<ReadOnlySequence<byte>?> ReadAsync(HttpContext context, long maxBytes)
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
