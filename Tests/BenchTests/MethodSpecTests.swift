import XCTest
import SpecDecEngine
@testable import SpecDecBench

/// `--methods` strings: what parses, into what, and the errors for what does not.
final class MethodSpecTests: XCTestCase {
    private func parseError(_ s: String) -> MethodSpecError? {
        do {
            _ = try MethodSpec.parseList(s)
            return nil
        } catch let e as MethodSpecError {
            return e
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testTheCheapDrafterMethodsParse() throws {
        let selfSpec = try MethodSpec.parse("self:k=4,skip=/tmp/s.json,vocab=16384")
        XCTAssertEqual(selfSpec.drafter, .selfSpeculative)
        XCTAssertEqual(selfSpec.options.skipFile, "/tmp/s.json")
        XCTAssertEqual(selfSpec.options.draftVocabulary, .size(16384))
        XCTAssertFalse(selfSpec.options.usesDraftModel)
        let trimmed = try MethodSpec.parse("model:k=4,vocab=/r.json:8192")
        XCTAssertEqual(trimmed.options.draftVocabulary, .file("/r.json", size: 8192))
        let cross = try MethodSpec.parse("cross-vocab:k=5")
        XCTAssertEqual(cross.drafter, .crossVocabulary)
        XCTAssertTrue(cross.options.usesDraftModel)
        let list = try MethodSpec.parseList("lookup,chain:lookup+suffix+self,k=4,vocab=32768,self:search=20")
        XCTAssertEqual(list.map(\.label), ["ar", "lookup", "chain:lookup+suffix+self,k=4,vocab=32768", "self:search=20"])
        XCTAssertEqual(list[2].chain, [.lookup, .suffix, .selfSpeculative])
        XCTAssertEqual(list[2].draftMax, 4)
        XCTAssertEqual(list[3].skipSearchBudget, 20)
        XCTAssertTrue(try MethodSpec.parse("chain:lookup+model").options.usesDraftModel)
        // --drafter's spelling: commas between steps.
        let commas = try MethodSpec.parseList("chain:lookup,suffix,self,k=4;lookup")
        XCTAssertEqual(commas.map(\.label), ["ar", "chain:lookup,suffix,self,k=4", "lookup"])
        XCTAssertEqual(commas[1].chain, [.lookup, .suffix, .selfSpeculative])
        XCTAssertEqual(commas[1].draftMax, 4)
        XCTAssertNotNil(parseError("chain:k=4"))
        XCTAssertNotNil(parseError("chain:lookup+lookup"))
        XCTAssertNotNil(parseError("lookup:vocab=100"))
        XCTAssertNotNil(parseError("self:vocab=0"))
        XCTAssertNotNil(parseError("cross-vocab:v=top-beta"))
    }

    func testTheQualityMethodsParse() throws {
        let list = try MethodSpec.parseList("draft;rstitch:slm=0.2,llm=0.05;rstitch:share=0.3;rstitch;model:k=4,v=confidence,lambda=2")
        XCTAssertEqual(list.map(\.label), ["ar", "draft", "rstitch:slm=0.2,llm=0.05", "rstitch:share=0.3", "rstitch",
                                           "model:k=4,v=confidence,lambda=2"])
        XCTAssertTrue(list[1].draftAlone)
        XCTAssertEqual(list[2].router, .fixed(slm: 0.2, llm: 0.05))
        XCTAssertEqual(list[3].router, .adaptive(llmShare: 0.3))
        XCTAssertEqual(list[4].router, .fixed(slm: RStitchDefaults.slmEntropy, llm: RStitchDefaults.llmEntropy))
        XCTAssertEqual(list[5].verifier, .confidence)
        XCTAssertEqual(list[5].options.confidenceTolerance, 2)
        for m in list.dropFirst() {
            XCTAssertFalse(m.isBaseline, m.label)
            XCTAssertFalse(m.isLossless, m.label)
            XCTAssertTrue(m.needsDraftModel, m.label)
        }
        XCTAssertEqual(list[1].kindName, "draft")
        XCTAssertEqual(list[2].kindName, "rstitch")
        XCTAssertEqual(try MethodSpec.parse("rstitch:slm=inf").router, .fixed(slm: .infinity, llm: RStitchDefaults.llmEntropy))
        XCTAssertFalse(try MethodSpec.parse("lookup").needsDraftModel)
        // Refused: a share outside [0, 1], a share with thresholds, negative thresholds, λ without
        // the confidence verifier, parameters of `draft`.
        for bad in ["rstitch:share=1.5", "rstitch:share=0.3,slm=0.1", "rstitch:slm=-1", "rstitch:llm=x", "model:lambda=1",
                    "model:v=confidence,lambda=-1", "draft:k=3", "rstitch:k=4"] {
            XCTAssertNotNil(parseError(bad), bad)
        }
    }

    func testEveryMethodParsesWithItsParameters() throws {
        let lookup = try MethodSpec.parse("lookup:min=2,max=4,k=8")
        XCTAssertEqual(lookup.drafter, .lookup)
        XCTAssertEqual([lookup.lookupMin, lookup.lookupMax, lookup.draftMax], [2, 4, 8])
        let model = try MethodSpec.parse("model:k=4")
        XCTAssertEqual(model.drafter, .model)
        XCTAssertEqual(model.draftMax, 4)
        XCTAssertEqual(model.options.draftMinProbability, 0)
        let hybrid = try MethodSpec.parse("hybrid:min=2,max=3,k=6,p=0.5")
        XCTAssertEqual(hybrid.drafter, .hybrid)
        XCTAssertTrue(hybrid.drafter.usesDraftModel)
        XCTAssertEqual([hybrid.lookupMin, hybrid.lookupMax, hybrid.draftMax], [2, 3, 6])
        XCTAssertEqual(hybrid.options.draftMinProbability, 0.5)
        let confident = try MethodSpec.parse("model:k=8,p=0.75")
        XCTAssertEqual(confident.draftMax, 8)
        XCTAssertEqual(confident.options.draftMinProbability, 0.75)
        XCTAssertEqual(model.verifier, .auto)
        let suffix = try MethodSpec.parse("suffix:k=8")
        XCTAssertEqual(suffix.drafter, .suffix)
        XCTAssertEqual(suffix.draftMax, 8)
        let topBeta = try MethodSpec.parse("model:k=4,v=top-beta,beta=3,tau=1.5")
        XCTAssertEqual(topBeta.verifier, .topBeta)
        XCTAssertEqual(topBeta.topBeta, 3)
        XCTAssertEqual(topBeta.tolerance, 1.5)
        XCTAssertFalse(topBeta.isLossless)
        XCTAssertTrue(try MethodSpec.parse("suffix:v=sampling").isLossless)
        XCTAssertEqual(try MethodSpec.parse("lookup:v=greedy").options.verifier, .greedy)
        XCTAssertTrue(try MethodSpec.parse("ar").isBaseline)
    }

    func testTheLabelIsTheSpecAsWritten() throws {
        XCTAssertEqual(try MethodSpec.parse(" model:k=4,v=top-beta,beta=3,tau=1 ").label, "model:k=4,v=top-beta,beta=3,tau=1")
        XCTAssertEqual(try MethodSpec.parse("lookup").label, "lookup")
    }

    func testCommasSeparateMethodsWhileKeyValuePiecesContinueTheLastOne() throws {
        let methods = try MethodSpec.parseList("lookup:min=2,max=4,k=8,model:k=4,v=top-beta,beta=3,tau=1,suffix")
        XCTAssertEqual(methods.map(\.label), ["ar", "lookup:min=2,max=4,k=8", "model:k=4,v=top-beta,beta=3,tau=1", "suffix"])
        XCTAssertEqual(try MethodSpec.parseList("lookup;suffix:k=4 model").map(\.label), ["ar", "lookup", "suffix:k=4", "model"])
        XCTAssertEqual(try MethodSpec.parseList(["lookup", "suffix,"]).map(\.label), ["ar", "lookup", "suffix"])
    }

    func testTheBaselineIsAlwaysIncludedAndFirst() throws {
        XCTAssertEqual(try MethodSpec.parseList("suffix").map(\.label), ["ar", "suffix"])
        XCTAssertEqual(try MethodSpec.parseList("suffix,ar,lookup").map(\.label), ["ar", "suffix", "lookup"])
        XCTAssertEqual(try MethodSpec.parseList("ar").map(\.label), ["ar"])
    }

    func testAnUnknownMethodIsAClearError() {
        XCTAssertEqual(parseError("lookup,medusa:k=3"), .unknownMethod("medusa", spec: "medusa:k=3"))
        XCTAssertTrue(parseError("eagle")?.description.contains("methods: ar, model, lookup, suffix") ?? false)
        XCTAssertEqual(parseError(""), .empty)
        XCTAssertEqual(parseError("k=4"), .unknownMethod("k=4", spec: "k=4"))
    }

    func testAnUnknownParameterNamesTheAllowedOnes() {
        XCTAssertEqual(parseError("suffix:min=2"),
                       .unknownParameter("min", method: "suffix", allowed: ["k", "v", "beta", "tau", "lambda", "cost", "tree", "nodes"]))
        XCTAssertEqual(parseError("ar:k=4"), .unknownParameter("k", method: "ar", allowed: []))
        XCTAssertTrue(parseError("ar:k=4")?.description.contains("takes no parameters") ?? false)
        XCTAssertEqual(parseError("model:k"), .malformedParameter("k", spec: "model:k"))
    }

    func testBadValuesAreRefused() {
        XCTAssertEqual(parseError("model:k=0"), .badValue(parameter: "k", value: "0", expected: "an integer >= 1"))
        XCTAssertEqual(parseError("model:k=four"), .badValue(parameter: "k", value: "four", expected: "an integer >= 1"))
        XCTAssertEqual(parseError("lookup:v=beam"),
                       .badValue(parameter: "v", value: "beam", expected: "one of greedy, sampling, top-beta, confidence, auto"))
        XCTAssertEqual(parseError("model:v=top-beta,tau=-1"), .badValue(parameter: "tau", value: "-1", expected: "a number >= 0"))
        XCTAssertEqual(parseError("model:p=1.5"), .badValue(parameter: "p", value: "1.5", expected: "a probability in [0, 1]"))
        XCTAssertEqual(parseError("lookup:p=0.5"), .unknownParameter("p", method: "lookup", allowed: ["min", "max", "k", "v", "beta", "tau", "lambda", "cost", "tree", "nodes"]))
        XCTAssertEqual(parseError("model:allowance=-0.1"),
                       .badValue(parameter: "allowance", value: "-0.1", expected: "a share >= 0 (inf: no cap)"))
        XCTAssertEqual(parseError("model:allowance=nan"),
                       .badValue(parameter: "allowance", value: "nan", expected: "a share >= 0 (inf: no cap)"))
        guard case .invalid(let spec, _)? = parseError("lookup:min=5,max=3") else { return XCTFail("expected invalid") }
        XCTAssertEqual(spec, "lookup:min=5,max=3")
    }

    func testTheCatchUpAllowanceReachesTheOptions() throws {
        XCTAssertEqual(try MethodSpec.parse("model:k=8").options.catchUpAllowance, CostModel.defaultCatchUpAllowance)
        XCTAssertEqual(try MethodSpec.parse("model:k=8,allowance=0.1").options.catchUpAllowance, 0.1)
        XCTAssertEqual(try MethodSpec.parse("chain:lookup+model,allowance=inf").options.catchUpAllowance, .infinity)
        var o = SpeculationOptions(drafter: .model)
        o.catchUpAllowance = -1
        XCTAssertThrowsError(try o.validate())
    }

    func testTopBetaParametersNeedTheTopBetaVerifierAndParametersAreGivenOnce() {
        XCTAssertEqual(parseError("model:beta=3"), .topBetaParameterWithoutTopBeta("beta", spec: "model:beta=3"))
        XCTAssertEqual(parseError("model:k=4,k=5"), .duplicateParameter("k", spec: "model:k=4,k=5"))
    }

    func testAMethodListedTwiceIsRefused() {
        XCTAssertEqual(parseError("lookup,suffix,lookup"), .duplicateMethod("lookup"))
    }
}
