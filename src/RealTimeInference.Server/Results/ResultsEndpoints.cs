using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Results;

/// <summary><c>GET /predictions</c> (newest first, keyset pages) and <c>GET /predictions/summary</c> over the results store.</summary>
internal static class ResultsEndpoints
{
    public const int MaxLimit = 1000;
    public const int DefaultLimit = 100;
    public const int MaxBuckets = 10_000;

    /// <summary>The store Results:Store names (sqlite by default), fed by every sensor prediction; with <c>none</c>, nothing is recorded.</summary>
    public static IServiceCollection AddResults(this IServiceCollection services)
    {
        services.AddResultsStore();
        services.AddSingleton<IPredictionSink, ResultsSink>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ResultsJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapResultsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/predictions").WithTags("Results").WithRole(app.ServiceProvider, Roles.Viewer);
        group.MapGet("", GetPredictionsAsync)
            .WithName("GetPredictions")
            .WithSummary("Stored predictions, newest first, a page at a time")
            .WithDescription("Filter with tool_id, sensor_id, chamber_id, recipe, step, lot_id, wafer_id, model, from and to (RFC 3339, on the reading's time) and anomalies_only; "
                + $"limit is 1..{MaxLimit} (default {DefaultLimit}); pass next_cursor as cursor for the next page.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/summary", GetSummaryAsync)
            .WithName("GetPredictionSummary")
            .WithSummary("Per group and time bucket: count, anomalies, mean and max prediction")
            .WithDescription("from and to default to the last hour; bucket is a number and s, m, h or d (default 1m), "
                + $"at most {MaxBuckets} buckets in the range; group_by is a comma-separated list of {string.Join(", ", SummaryQuery.Groupings)} (default tool_id,sensor_id); "
                + "tool_id and the other context fields narrow to their value; at most {SummaryQuery.MaxItems} items an answer (truncated: true when there were more).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGroup("").WithTags("Results").WithRole(app.ServiceProvider, Roles.Viewer)
            .MapGet("/wafer-predictions", GetWafersAsync)
            .WithName("GetWaferPredictions")
            .WithSummary("Stored wafer verdicts, newest first, a page at a time")
            .WithDescription($"Filter with from and to (RFC 3339, on when it was scored) and defects_only; limit is 1..{MaxLimit} (default {DefaultLimit}); "
                + "pass next_cursor as cursor for the next page.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<Ok<WaferPage>, ProblemHttpResult>> GetWafersAsync(HttpContext context, ResultsStoreChoice choice)
    {
        if (choice.Store is not { } store)
        {
            return Off();
        }

        var q = context.Request.Query;
        RequestErrors? errors = null;
        var from = Time(q, "from", ref errors);
        var to = Time(q, "to", ref errors);
        var defectsOnly = Flag(q, "defects_only", ref errors);
        var limit = Limit(q, ref errors);
        var cursor = Cursor(q, ref errors);
        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid query");
        }

        var found = await store.QueryWafersAsync(new WaferQuery(from, to, defectsOnly, limit, cursor), context.RequestAborted);
        var items = found.Select(w => new StoredWaferItem(
            w.Id, w.Record.PredictedAt, w.Record.Source, w.Record.DefectDetected, w.Record.DefectType, w.Record.Confidence,
            JsonSerializer.Deserialize(w.Record.ClassProbabilities, ResultsJsonContext.Default.DictionaryStringSingle)!,
            w.Record.ImageSha256, w.Record.Model, w.Record.ModelVersion, w.Record.LatencyMs, w.Record.Class.Name(), w.Record.RequestId)).ToList();
        var next = found.Count == limit ? Encode(new PageCursor(UnixMicroseconds.From(found[^1].Record.PredictedAt), found[^1].Id)) : null;
        return TypedResults.Ok(new WaferPage(items, next));
    }

    private static async Task<Results<Ok<PredictionPage>, ProblemHttpResult>> GetPredictionsAsync(
        HttpContext context, ResultsStoreChoice choice)
    {
        if (choice.Store is not { } store)
        {
            return Off();
        }

        var q = context.Request.Query;
        RequestErrors? errors = null;
        var toolId = One(q, "tool_id", ref errors);
        var sensorId = One(q, "sensor_id", ref errors);
        var model = One(q, "model", ref errors);
        var byContext = ContextFilter(q, ref errors);
        var from = Time(q, "from", ref errors);
        var to = Time(q, "to", ref errors);
        var anomaliesOnly = Flag(q, "anomalies_only", ref errors);
        var limit = Limit(q, ref errors);
        var cursor = Cursor(q, ref errors);
        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid query");
        }

        var query = new PredictionQuery(toolId, sensorId, from, to, anomaliesOnly, limit, cursor) { Context = byContext, Model = model };
        var found = await store.QueryAsync(query, context.RequestAborted);
        var items = found.Select(Item).ToList();
        // A full page may have more behind it; a short one is the last.
        var next = found.Count == limit ? Encode(PageCursor.After(found[^1])) : null;
        return TypedResults.Ok(new PredictionPage(items, next));
    }

    private static async Task<Results<Ok<PredictionSummary>, ProblemHttpResult>> GetSummaryAsync(
        HttpContext context, ResultsStoreChoice choice, TimeProvider time)
    {
        if (choice.Store is not { } store)
        {
            return Off();
        }

        var q = context.Request.Query;
        RequestErrors? errors = null;
        var toolId = One(q, "tool_id", ref errors);
        var byContext = ContextFilter(q, ref errors);
        var groupBy = GroupBy(q, ref errors);
        var now = time.GetUtcNow();
        var to = Time(q, "to", ref errors) ?? now;
        var from = Time(q, "from", ref errors) ?? to.AddHours(-1);
        var bucketText = One(q, "bucket", ref errors) ?? "1m";
        if (errors is null && from >= to)
        {
            RequestErrors.Add(ref errors, "from", "from must be before to.");
        }

        if (!TryParseSpan(bucketText, out var bucket))
        {
            RequestErrors.Add(ref errors, "bucket", "bucket must be a positive whole number of s, m, h or d, e.g. 30s, 1m, 1h.");
        }
        else if (errors is null && (to - from) / bucket > MaxBuckets)
        {
            RequestErrors.Add(ref errors, "bucket", $"The range holds more than {MaxBuckets} buckets of {bucketText}: use a larger bucket or a shorter range.");
        }

        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid query");
        }

        // One more than an answer holds: whether there were more (200,000 tools made a 37 MB answer before the cap).
        var query = new SummaryQuery(toolId, from, to, bucket, SummaryQuery.MaxItems + 1) { GroupBy = groupBy, Context = byContext };
        var buckets = await store.SummarizeAsync(query, context.RequestAborted);
        var toolAt = groupBy.IndexOf("tool_id");
        var sensorAt = groupBy.IndexOf("sensor_id");
        return TypedResults.Ok(new PredictionSummary(
            bucketText,
            groupBy,
            from,
            to,
            [.. buckets.Take(SummaryQuery.MaxItems).Select(b => new SummaryItem(
                groupBy.Select((g, i) => (g, b.Group[i])).ToDictionary(p => p.g, p => p.Item2),
                toolAt >= 0 ? b.Group[toolAt] : null,
                sensorAt >= 0 ? b.Group[sensorAt] : null,
                b.BucketStart, b.Count, b.Anomalies, b.MeanScore, b.MaxScore))],
            buckets.Count > SummaryQuery.MaxItems));
    }

    /// <summary>The context fields beyond the tool that the query names (chamber_id, recipe, step, lot_id, wafer_id).</summary>
    private static List<KeyValuePair<string, string>> ContextFilter(IQueryCollection query, ref RequestErrors? errors)
    {
        var filter = new List<KeyValuePair<string, string>>();
        foreach (var field in ReadingContext.Fields.Skip(1))
        {
            if (One(query, field, ref errors) is { } value)
            {
                filter.Add(new(field, value));
            }
        }

        return filter;
    }

    private static List<string> GroupBy(IQueryCollection query, ref RequestErrors? errors)
    {
        if (One(query, "group_by", ref errors) is not { } text)
        {
            return ["tool_id", "sensor_id"];
        }

        var fields = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        var unknown = fields.FirstOrDefault(f => !SummaryQuery.Groupings.Contains(f));
        if (fields.Count == 0 || unknown is not null)
        {
            RequestErrors.Add(ref errors, "group_by", $"group_by names '{unknown}'; it must be a comma-separated list of {string.Join(", ", SummaryQuery.Groupings)}.");
            return [];
        }

        if (fields.Distinct().Count() != fields.Count)
        {
            RequestErrors.Add(ref errors, "group_by", "group_by names a field more than once.");
        }

        return fields;
    }

    private static ProblemHttpResult Off() =>
        TypedResults.Problem("No results store is configured (Results:Store is none).", statusCode: StatusCodes.Status404NotFound, title: "No results store");

    private static StoredPredictionItem Item(StoredPrediction stored)
    {
        var r = stored.Record;
        return new StoredPredictionItem(
            stored.Id, r.Time, r.PredictedAt, r.Source, r.ToolId, r.SensorId, r.Context,
            r.Values is null ? new StoredReading(r.Temperature, r.Pressure, r.FlowRate) : null,
            r.Values is { } values ? JsonSerializer.Deserialize(values, ResultsJsonContext.Default.DictionaryStringSingle) : null,
            r.Score, r.IsAnomaly, r.Model, r.ModelVersion, r.LatencyMs, r.Class.Name(), r.RequestId);
    }

    private static string? One(IQueryCollection query, string name, ref RequestErrors? errors)
    {
        var values = query[name];
        if (values.Count > 1)
        {
            RequestErrors.Add(ref errors, name, $"{name} may be given once.");
            return null;
        }

        return values.Count == 1 ? values[0] : null;
    }

    private static DateTimeOffset? Time(IQueryCollection query, string name, ref RequestErrors? errors)
    {
        if (One(query, name, ref errors) is not { } text)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : Fail<DateTimeOffset>(ref errors, name, $"{name} must be an RFC 3339 date-time, e.g. 2026-11-30T18:00:00Z.");
    }

    private static bool Flag(IQueryCollection query, string name, ref RequestErrors? errors) =>
        One(query, name, ref errors) is { } text && (bool.TryParse(text, out var flag) ? flag : Fail<bool>(ref errors, name, $"{name} must be true or false."));

    private static int Limit(IQueryCollection query, ref RequestErrors? errors) =>
        One(query, "limit", ref errors) is not { } text ? DefaultLimit
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= MaxLimit ? limit
        : Fail<int>(ref errors, "limit", $"limit must be a whole number within 1..{MaxLimit}.");

    /// <summary>A cursor is the last item's reading time (microseconds) and id, base64url: opaque to clients.</summary>
    private static PageCursor? Cursor(IQueryCollection query, ref RequestErrors? errors)
    {
        if (One(query, "cursor", ref errors) is not { } text)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[64];
        if (text.Length <= 80 && Base64Url.TryDecodeFromChars(text, bytes, out var written)
            && Encoding.ASCII.GetString(bytes[..written]).Split('.') is [var t, var i]
            && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timeUs)
            && long.TryParse(i, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return new PageCursor(timeUs, id);
        }

        return Fail<PageCursor?>(ref errors, "cursor", "cursor must be a next_cursor this endpoint returned.");
    }

    private static string Encode(PageCursor cursor) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{cursor.TimeMicroseconds}.{cursor.Id}")));

    private static bool TryParseSpan(string text, out TimeSpan span)
    {
        span = default;
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 1_000_000)
        {
            return false;
        }

        span = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => default,
        };
        return span > TimeSpan.Zero;
    }

    private static T Fail<T>(ref RequestErrors? errors, string name, string message)
    {
        RequestErrors.Add(ref errors, name, message);
        return default!;
    }
}
