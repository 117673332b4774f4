using Microsoft.Extensions.Options;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Readings;

namespace RealTimeInference.Server.Tests.Readings;

public sealed class ContextRouterTests
{
    private static ContextRouter Router(params RouteRule[] rules) => new(Options.Create(new RoutingOptions { Rules = [.. rules] }));

    [Fact]
    public void TheFirstMatchingRuleWins_FieldsLeftOutOrStarMatchAnything_AndStarsInsidePatternsMatchRuns()
    {
        var router = Router(
            new RouteRule { Tool = "etch-*", Recipe = "*-clean", Model = "clean-model" },
            new RouteRule { Tool = "etch-*", Chamber = "*", Step = "main-etch", Model = "main-etch-model" },
            new RouteRule { Tool = "etch-0*-b", Model = "b-tools" },
            new RouteRule { Model = "default" });

        Assert.Equal("clean-model", router.Route(new ReadingContext("etch-01", "A", "chamber-clean")));
        Assert.Equal("main-etch-model", router.Route(new ReadingContext("etch-01", "A", "poly", "main-etch")));
        Assert.Equal("b-tools", router.Route(new ReadingContext("etch-07-b")));
        // A pattern needs a value: no step given does not match step "main-etch".
        Assert.Equal("default", router.Route(new ReadingContext("etch-01", "A", "poly")));
        Assert.Equal("default", router.Route(new ReadingContext("litho-01")));
    }

    [Fact]
    public void ATemplatedModel_NamesEachChambersOwn_AndDoesNotApplyWhereTheContextLacksAField()
    {
        var router = Router(new RouteRule { Tool = "etch-*", Model = "fdc-{tool}-{chamber}-{recipe}" });

        Assert.Equal("fdc-etch-01-A-poly", router.Route(new ReadingContext("etch-01", "A", "poly")));
        Assert.Equal("fdc-etch-02-B-poly", router.Route(new ReadingContext("etch-02", "B", "poly")));
        Assert.Null(router.Route(new ReadingContext("etch-01", null, "poly")));
        Assert.Null(router.Route(new ReadingContext("cmp-01", "A", "poly")));
    }

    [Fact]
    public void ATrace_TakesTheFirstTraceRule_ThenTheReadingsRules_WhileReadingsNeverTakeATraceRule()
    {
        var router = new ContextRouter(Options.Create(new RoutingOptions
        {
            Rules = [new RouteRule { Tool = "etch-*", Model = "fdc-{tool}-{chamber}" }, new RouteRule { Tool = "litho-*", Model = "litho" }],
            Traces = [new RouteRule { Tool = "etch-*", Model = "fdc-trace-{tool}-{chamber}" }],
        }));

        Assert.Equal("fdc-trace-etch-01-A", router.RouteTrace(new ReadingContext("etch-01", "A")));
        Assert.Equal("fdc-etch-01-A", router.Route(new ReadingContext("etch-01", "A")));
        Assert.Equal("litho", router.RouteTrace(new ReadingContext("litho-02")));
        Assert.Null(router.RouteTrace(new ReadingContext("cmp-01", "A")));
        Assert.Contains(
            "Routing:Traces:0:Model is required.",
            ContextRouter.Validate(new RoutingOptions { Traces = [new RouteRule()] }));
    }

    [Fact]
    public void Validate_NamesARuleWithoutAModel_AndAnUnknownPlaceholder()
    {
        var errors = ContextRouter.Validate(new RoutingOptions { Rules = [new RouteRule { Tool = "x" }, new RouteRule { Model = "fdc-{lot}" }] }).ToList();

        Assert.Equal(2, errors.Count);
        Assert.Contains("Routing:Rules:0:Model is required", errors[0], StringComparison.Ordinal);
        Assert.Contains("{lot}", errors[1], StringComparison.Ordinal);
    }
}
