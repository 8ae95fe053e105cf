// Copyright 2026 The kodomohub Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package synth

import "strings"

// A name is a kanji spelling with its reading in full-width katakana.
type name struct{ kanji, kana string }

func names(list string) []name {
	var out []name
	for _, tok := range strings.Fields(list) {
		k, r, _ := strings.Cut(tok, ":")
		out = append(out, name{k, r})
	}
	return out
}

// familyNames are common family names of Japan and of northern Saitama (強矢, 黛, 根岸 …).
var familyNames = names(`
佐藤:サトウ 鈴木:スズキ 高橋:タカハシ 田中:タナカ 伊藤:イトウ 渡辺:ワタナベ 山本:ヤマモト 中村:ナカムラ
小林:コバヤシ 加藤:カトウ 吉田:ヨシダ 山田:ヤマダ 佐々木:ササキ 山口:ヤマグチ 松本:マツモト 井上:イノウエ
木村:キムラ 林:ハヤシ 斎藤:サイトウ 清水:シミズ 山崎:ヤマザキ 森:モリ 池田:イケダ 橋本:ハシモト
阿部:アベ 石川:イシカワ 山下:ヤマシタ 中島:ナカジマ 石井:イシイ 小川:オガワ 前田:マエダ 岡田:オカダ
長谷川:ハセガワ 藤田:フジタ 後藤:ゴトウ 近藤:コンドウ 村上:ムラカミ 遠藤:エンドウ 青木:アオキ 坂本:サカモト
斉藤:サイトウ 福田:フクダ 太田:オオタ 西村:ニシムラ 藤井:フジイ 金子:カネコ 岡本:オカモト 藤原:フジワラ
中野:ナカノ 三浦:ミウラ 原田:ハラダ 中川:ナカガワ 松田:マツダ 竹内:タケウチ 小野:オノ 田村:タムラ
中山:ナカヤマ 和田:ワダ 石田:イシダ 森田:モリタ 上田:ウエダ 原:ハラ 内田:ウチダ 柴田:シバタ
酒井:サカイ 宮崎:ミヤザキ 横山:ヨコヤマ 高木:タカギ 安藤:アンドウ 宮本:ミヤモト 大野:オオノ 小島:コジマ
谷口:タニグチ 今井:イマイ 工藤:クドウ 高田:タカダ 増田:マスダ 丸山:マルヤマ 杉山:スギヤマ 村田:ムラタ
大塚:オオツカ 新井:アライ 小山:コヤマ 平野:ヒラノ 藤本:フジモト 河野:コウノ 上野:ウエノ 野口:ノグチ
武田:タケダ 松井:マツイ 千葉:チバ 岩崎:イワサキ 菅原:スガワラ 木下:キノシタ 久保:クボ 佐野:サノ
野村:ノムラ 松尾:マツオ 市川:イチカワ 菊地:キクチ 杉本:スギモト 古川:フルカワ 大西:オオニシ 島田:シマダ
水野:ミズノ 桜井:サクライ 高野:タカノ 渡部:ワタベ 吉川:ヨシカワ 山内:ヤマウチ 西田:ニシダ 飯田:イイダ
菊池:キクチ 西川:ニシカワ 小松:コマツ 北村:キタムラ 安田:ヤスダ 五十嵐:イガラシ 川口:カワグチ 平田:ヒラタ
関:セキ 中田:ナカタ 久保田:クボタ 服部:ハットリ 東:アズマ 岩田:イワタ 土屋:ツチヤ 川崎:カワサキ
福島:フクシマ 本田:ホンダ 辻:ツジ 樋口:ヒグチ 秋山:アキヤマ 田口:タグチ 永井:ナガイ 山中:ヤマナカ
中西:ナカニシ 吉村:ヨシムラ 川上:カワカミ 石原:イシハラ 大橋:オオハシ 松岡:マツオカ 馬場:ババ 浅野:アサノ
荒木:アラキ 大久保:オオクボ 野田:ノダ 小沢:オザワ 田辺:タナベ 川村:カワムラ 星野:ホシノ 黒田:クロダ
堀:ホリ 尾崎:オザキ 望月:モチヅキ 永田:ナガタ 熊谷:クマガイ 内藤:ナイトウ 松村:マツムラ 西山:ニシヤマ
大谷:オオタニ 平井:ヒライ 大島:オオシマ 岩本:イワモト 片山:カタヤマ 本間:ホンマ 早川:ハヤカワ 横田:ヨコタ
岡崎:オカザキ 荒井:アライ 大石:オオイシ 鎌田:カマタ 成田:ナリタ 宮田:ミヤタ 小田:オダ 石橋:イシバシ
篠原:シノハラ 須藤:スドウ 河合:カワイ 浜田:ハマダ 根岸:ネギシ 強矢:スネヤ 関根:セキネ 田島:タジマ
黛:マユズミ 町田:マチダ 栗原:クリハラ 小暮:コグレ 大沢:オオサワ 吉野:ヨシノ 茂木:モテギ 高山:タカヤマ
柴崎:シバサキ 宮下:ミヤシタ 金井:カナイ 吉岡:ヨシオカ 福井:フクイ 坂口:サカグチ 新田:ニッタ 長島:ナガシマ
飯島:イイジマ 須田:スダ 田代:タシロ 岡野:オカノ 戸田:トダ 坂井:サカイ 大木:オオキ 細田:ホソダ
`)

// Given names by generation (born before 1960, 1960–1994, from 1995), so that a grandmother
// is a 和子 and her granddaughter a 陽葵.
var (
	maleOld = names(`
清:キヨシ 茂:シゲル 博:ヒロシ 実:ミノル 勇:イサム 進:ススム 正:タダシ 武:タケシ 弘:ヒロシ 昭:アキラ
和夫:カズオ 正男:マサオ 勝:マサル 隆:タカシ 明:アキラ 一郎:イチロウ 三郎:サブロウ 健一:ケンイチ 幸雄:ユキオ 秀夫:ヒデオ
義雄:ヨシオ 政雄:マサオ 貞夫:サダオ 光男:ミツオ 修:オサム 豊:ユタカ 稔:ミノル 功:イサオ 信夫:ノブオ 久:ヒサシ
重雄:シゲオ 敏夫:トシオ 昇:ノボル 忠:タダシ 保:タモツ 孝:タカシ 晃:アキラ 栄一:エイイチ 英夫:ヒデオ 正治:マサハル
`)
	maleMid = names(`
誠:マコト 浩:ヒロシ 健:ケン 大輔:ダイスケ 拓也:タクヤ 直樹:ナオキ 和也:カズヤ 哲也:テツヤ 剛:ツヨシ 学:マナブ
聡:サトシ 達也:タツヤ 翔太:ショウタ 健太:ケンタ 雄一:ユウイチ 裕介:ユウスケ 亮:リョウ 智之:トモユキ 秀樹:ヒデキ 隆之:タカユキ
博之:ヒロユキ 淳:ジュン 大介:ダイスケ 康弘:ヤスヒロ 洋平:ヨウヘイ 慎也:シンヤ 卓也:タクヤ 俊介:シュンスケ 修平:シュウヘイ 匠:タクミ
浩二:コウジ 真一:シンイチ 和彦:カズヒコ 英樹:ヒデキ 敦:アツシ 竜也:タツヤ 祐樹:ユウキ 雅人:マサト 光太郎:コウタロウ 陽介:ヨウスケ
`)
	maleYoung = names(`
蓮:レン 陽翔:ハルト 湊:ミナト 大翔:ヒロト 悠真:ユウマ 悠人:ユウト 陽太:ヒナタ 朝陽:アサヒ 樹:イツキ 蒼:アオイ
律:リツ 颯真:ソウマ 新:アラタ 大和:ヤマト 結翔:ユイト 陸:リク 奏太:ソウタ 悠斗:ユウト 颯太:ソウタ 碧:アオイ
晴:ハル 海斗:カイト 優斗:ユウト 翼:ツバサ 拓海:タクミ 颯:ハヤテ 瑛太:エイタ 智也:トモヤ 琉生:ルイ 蒼空:ソラ
翔:ショウ 隼人:ハヤト 大雅:タイガ 悠翔:ユウト 康生:コウセイ 直人:ナオト 春輝:ハルキ 陽斗:ハルト 凌:リョウ 航:ワタル
`)
	femaleOld = names(`
和子:カズコ 幸子:サチコ 節子:セツコ 洋子:ヨウコ 京子:キョウコ 恵子:ケイコ 美代子:ミヨコ 照子:テルコ 久子:ヒサコ 文子:フミコ
静子:シズコ 正子:マサコ 千代子:チヨコ 光子:ミツコ 清子:キヨコ 弘子:ヒロコ 悦子:エツコ 信子:ノブコ トミ:トミ キヨ:キヨ
米子:ヨネコ 澄子:スミコ 喜代子:キヨコ 敏子:トシコ 春江:ハルエ 房子:フサコ 芳子:ヨシコ 君子:キミコ 美智子:ミチコ 昭子:アキコ
貞子:サダコ 愛子:アイコ 勝子:カツコ 初江:ハツエ 花子:ハナコ 絹子:キヌコ 富子:トミコ 和江:カズエ 由紀子:ユキコ 八重子:ヤエコ
`)
	femaleMid = names(`
裕子:ユウコ 直美:ナオミ 由美子:ユミコ 恵美:エミ 智子:トモコ 真由美:マユミ 久美子:クミコ 美穂:ミホ 陽子:ヨウコ 香織:カオリ
愛:アイ 彩:アヤ 麻衣:マイ 千尋:チヒロ 舞:マイ 沙織:サオリ 明美:アケミ 恵:メグミ 理恵:リエ 由香:ユカ
亜希子:アキコ 美紀:ミキ 友美:トモミ 優子:ユウコ 紀子:ノリコ 真理子:マリコ 知美:トモミ 早苗:サナエ 綾:アヤ 瞳:ヒトミ
美香:ミカ 純子:ジュンコ さおり:サオリ 奈緒子:ナオコ 麻美:アサミ 千晶:チアキ 美和:ミワ 雅美:マサミ 晴美:ハルミ 育子:イクコ
`)
	femaleYoung = names(`
陽葵:ヒマリ 凛:リン 結菜:ユイナ 葵:アオイ 紬:ツムギ 芽依:メイ 結愛:ユア 咲良:サクラ 杏:アン 澪:ミオ
莉子:リコ 心春:コハル 美桜:ミオ 結衣:ユイ 陽菜:ヒナ さくら:サクラ 花:ハナ 彩葉:イロハ 栞:シオリ 愛莉:アイリ
優奈:ユウナ 美咲:ミサキ 七海:ナナミ 楓:カエデ 詩:ウタ 琴音:コトネ 日葵:ヒマリ 千晴:チハル 芽生:メイ 柚希:ユズキ
彩花:アヤカ 真央:マオ 遥:ハルカ 菜々子:ナナコ 美羽:ミウ 心結:ミユ 桜子:サクラコ 希:ノゾミ 明里:アカリ 優衣:ユイ
`)
)

// givenNames returns the list for someone of sex (1 male, 2 female) born in year.
func givenNames(sex uint8, year int) []name {
	switch {
	case sex == 1 && year < 1960:
		return maleOld
	case sex == 1 && year < 1995:
		return maleMid
	case sex == 1:
		return maleYoung
	case year < 1960:
		return femaleOld
	case year < 1995:
		return femaleMid
	}
	return femaleYoung
}

// officialForms are the traditional forms (旧字・異体字) that a resident register keeps where
// other systems write the common form: 髙 and 﨑 are CP932 extension characters (NEC/IBM),
// 邊, 齋, 濵 and 澤 are JIS X 0208.
var officialForms = []struct{ common, official string }{
	{"高", "髙"}, {"崎", "﨑"}, {"辺", "邊"}, {"斉", "齋"}, {"浜", "濵"}, {"沢", "澤"},
}

// officialForm returns the traditional spelling of family, or "" when it has no variant.
func officialForm(family string) string {
	for _, f := range officialForms {
		if strings.Contains(family, f.common) {
			return strings.Replace(family, f.common, f.official, 1)
		}
	}
	return ""
}

// homophones are the kanji a clerk typing from a form confuses (same reading): a typo
// in a given name keeps its reading.
var homophones = []struct{ a, b string }{
	{"裕", "祐"}, {"智", "知"}, {"浩", "宏"}, {"美", "実"}, {"陽", "洋"}, {"優", "悠"},
	{"翔", "祥"}, {"斗", "人"}, {"恵", "惠"},
}

// typo misspells a given name with a homophone, or returns "" when none applies.
func typo(given string) string {
	for _, h := range homophones {
		if strings.Contains(given, h.a) {
			return strings.Replace(given, h.a, h.b, 1)
		}
	}
	return ""
}
